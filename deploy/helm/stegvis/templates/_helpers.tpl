{{/* Names and labels. */}}
{{- define "stegvis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stegvis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "stegvis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "stegvis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: stegvis
{{- end }}

{{/* selectorLabels takes (dict "root" $ "component" "api"). */}}
{{- define "stegvis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stegvis.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "stegvis.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
secretRef is the secretKeyRef of one secret setting: the named existing Secret and
key, or the chart's own Secret under its default key. It takes
(dict "root" $ "existingSecret" … "existingSecretKey" … "key" …).
*/}}
{{- define "stegvis.secretRef" -}}
{{- if .existingSecret -}}
name: {{ .existingSecret }}
key: {{ .existingSecretKey }}
{{- else -}}
name: {{ include "stegvis.fullname" .root }}
key: {{ .key }}
{{- end }}
{{- end }}

{{/* The chart's own Secret's data: only what values give and no existing Secret holds. */}}
{{- define "stegvis.secretData" -}}
{{- if and .Values.database.url (not .Values.database.existingSecret) }}
database-url: {{ .Values.database.url | b64enc }}
{{- end }}
{{- if and .Values.encryptionKeys.value (not .Values.encryptionKeys.existingSecret) }}
encryption-keys: {{ .Values.encryptionKeys.value | b64enc }}
{{- end }}
{{- if and .Values.oidc.clientSecret (not .Values.oidc.existingSecret) }}
oidc-client-secret: {{ .Values.oidc.clientSecret | b64enc }}
{{- end }}
{{- if and .Values.temporal.apiKey.value (not .Values.temporal.apiKey.existingSecret) }}
temporal-api-key: {{ .Values.temporal.apiKey.value | b64enc }}
{{- end }}
{{- if and .Values.worker.smtp.password (not .Values.worker.smtp.existingSecret) }}
smtp-password: {{ .Values.worker.smtp.password | b64enc }}
{{- end }}
{{- if and .Values.worker.webhook.secret (not .Values.worker.webhook.existingSecret) }}
webhook-secret: {{ .Values.worker.webhook.secret | b64enc }}
{{- end }}
{{- end }}

{{/* The settings without which nothing starts; fails the render with what to set. */}}
{{- define "stegvis.validate" -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) }}
{{- fail "set database.url (the PostgreSQL URL) or database.existingSecret (a Secret holding it)" }}
{{- end }}
{{- if not (or .Values.encryptionKeys.value .Values.encryptionKeys.existingSecret) }}
{{- fail "set encryptionKeys.value (k1:<openssl rand -base64 32>) or encryptionKeys.existingSecret" }}
{{- end }}
{{- if not .Values.temporal.address }}
{{- fail "set temporal.address to your Temporal cluster's frontend host:port (the chart installs no Temporal server)" }}
{{- end }}
{{- if not .Values.oidc.issuer }}
{{- fail "set oidc.issuer to your identity provider: the API accepts only its tokens" }}
{{- end }}
{{- if and .Values.oidc.clientID (not .Values.publicURL) }}
{{- fail "oidc.clientID is set but publicURL is not: set publicURL to the address people reach stegvis at" }}
{{- end }}
{{- end }}

{{/* Settings of both the API and the worker. */}}
{{- define "stegvis.clusterEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "stegvis.secretRef" (dict "root" . "existingSecret" .Values.database.existingSecret "existingSecretKey" .Values.database.existingSecretKey "key" "database-url") | nindent 6 }}
- name: MIGRATE
  value: {{ (not .Values.migration.enabled) | quote }}
- name: LOG_LEVEL
  value: {{ .Values.log.level | quote }}
- name: LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: SHUTDOWN_TIMEOUT
  value: {{ printf "%ds" (int .Values.shutdown.timeoutSeconds) | quote }}
- name: ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      {{- include "stegvis.secretRef" (dict "root" . "existingSecret" .Values.encryptionKeys.existingSecret "existingSecretKey" .Values.encryptionKeys.existingSecretKey "key" "encryption-keys") | nindent 6 }}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- with .Values.temporal.tls }}
{{- if .enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- if .existingSecret }}
{{- if .certKey }}
- name: TEMPORAL_TLS_CERT
  value: /etc/stegvis/temporal-tls/{{ .certKey }}
- name: TEMPORAL_TLS_KEY
  value: /etc/stegvis/temporal-tls/{{ .keyKey }}
{{- end }}
{{- if .caKey }}
- name: TEMPORAL_TLS_CA
  value: /etc/stegvis/temporal-tls/{{ .caKey }}
{{- end }}
{{- end }}
{{- end }}
{{- if or .Values.temporal.apiKey.value .Values.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      {{- include "stegvis.secretRef" (dict "root" . "existingSecret" .Values.temporal.apiKey.existingSecret "existingSecretKey" .Values.temporal.apiKey.existingSecretKey "key" "temporal-api-key") | nindent 6 }}
{{- end }}
{{- end }}

{{/* The client certificate volume, when temporal.tls.existingSecret is set. */}}
{{- define "stegvis.temporalTLSVolume" -}}
{{- with .Values.temporal.tls }}
{{- if .existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 0440
    items:
      {{- if .certKey }}
      - key: {{ .certKey }}
        path: {{ .certKey }}
      - key: {{ .keyKey }}
        path: {{ .keyKey }}
      {{- end }}
      {{- if .caKey }}
      - key: {{ .caKey }}
        path: {{ .caKey }}
      {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "stegvis.temporalTLSMount" -}}
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/stegvis/temporal-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* Checksums that roll the pods when a setting they read at start changes. */}}
{{- define "stegvis.checksums" -}}
checksum/secret: {{ include "stegvis.secretData" . | sha256sum }}
{{- end }}
