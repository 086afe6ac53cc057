#!/bin/sh
# Once the Temporal server answers: create stegvis's namespace and register the
# journeys' search attributes (README, "Search attributes"). Both are no-ops when
# already done.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
retention=${NAMESPACE_RETENTION:-7d}

attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
	if [ "$attempt" -ge 60 ]; then
		echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2
		exit 1
	fi
	echo "waiting for Temporal at $TEMPORAL_ADDRESS ($attempt/60)"
	attempt=$((attempt + 1))
	sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
	echo "namespace $NAMESPACE exists"
else
	temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$retention"
fi

# A new namespace takes a moment to reach every frontend's cache.
attempt=1
until temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
	--name StegvisUnit --type Keyword --name StegvisGuide --type Keyword --name StegvisPhase --type Keyword \
	--name StegvisStep --type Int --name StegvisNextDeadline --type Datetime; do
	if [ "$attempt" -ge 30 ]; then
		echo "could not register the search attributes on $NAMESPACE" >&2
		exit 1
	fi
	attempt=$((attempt + 1))
	sleep 2
done
echo "namespace $NAMESPACE is ready"
