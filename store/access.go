package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stegvis/stegvis/protect"
)

// Scope is whom a caller may see: the union of its parts. The zero Scope sees nobody.
// The same rules answer "may I open this participant?" (Allows) and "which ones may I
// list?" (the SQL below), so the two cannot drift apart.
type Scope struct {
	Everyone   bool   // the system role
	GuideID    string // a guide: participants with this guide
	TeamLead   string // a team lead: participants whose guide reports to them …
	TeamUnit   string // … and the participants of this unit who wait for a guide
	Unit       string // a unit manager: the unit's participants
	CaseWorker string // a case worker: their clients
}

// Nobody reports whether the scope sees no one.
func (sc Scope) Nobody() bool { return sc == Scope{} }

// Owner is what decides who may see a participant.
type Owner struct {
	Unit             string
	GuideID          string
	GuideReportsTo   string // the guide's team lead, from the org chart
	CaseWorkerID     string
	ParticipantKnown bool
}

// Allows reports whether the scope covers a participant.
func (sc Scope) Allows(o Owner) bool {
	switch {
	case sc.Everyone:
		return true
	case !o.ParticipantKnown:
		return false
	case sc.GuideID != "" && o.GuideID == sc.GuideID,
		sc.TeamLead != "" && o.GuideID != "" && o.GuideReportsTo == sc.TeamLead,
		sc.TeamUnit != "" && o.GuideID == "" && o.Unit == sc.TeamUnit,
		sc.Unit != "" && o.Unit == sc.Unit,
		sc.CaseWorker != "" && o.CaseWorkerID == sc.CaseWorker:
		return true
	}
	return false
}

// sql is the scope as a condition on participants p; it appends its arguments.
func (sc Scope) sql(args *[]any) string {
	if sc.Everyone {
		return "true"
	}
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	var or []string
	if sc.GuideID != "" {
		or = append(or, "p.guide_id = "+arg(sc.GuideID))
	}
	if sc.TeamLead != "" {
		or = append(or, "p.guide_id IN (SELECT staff_id FROM staff WHERE reports_to = "+arg(sc.TeamLead)+")")
	}
	if sc.TeamUnit != "" {
		or = append(or, "(p.guide_id IS NULL AND p.unit = "+arg(sc.TeamUnit)+")")
	}
	if sc.Unit != "" {
		or = append(or, "p.unit = "+arg(sc.Unit))
	}
	if sc.CaseWorker != "" {
		or = append(or, "p.participant_id IN (SELECT participant_id FROM participant_identity WHERE case_worker_id = "+arg(sc.CaseWorker)+")")
	}
	if len(or) == 0 {
		return "false"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// StaffMember reads one staff member; ErrNotFound when the org chart lacks them.
func (s *Store) StaffMember(ctx context.Context, id string) (Staff, error) {
	var st Staff
	err := s.Pool.QueryRow(ctx, `SELECT staff_id, name, coalesce(email, ''), unit_id, role, coalesce(reports_to, ''), active
		FROM staff WHERE staff_id = $1`, id).Scan(&st.StaffID, &st.Name, &st.Email, &st.UnitID, &st.Role, &st.ReportsTo, &st.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("read staff member: %w", err)
	}
	return st, nil
}

// Identity columns, sealed each under its own associated data.
const (
	ColumnPersonalNumber = "personal_number"
	ColumnName           = "name"
)

// IdentityAAD binds a sealed identity value to its participant and column, so that a
// value copied to another row or column no longer opens.
func IdentityAAD(participantID, column string) []byte {
	return protect.AAD("participant", participantID, column)
}

// ResealIdentity opens an identity's values with the key they were sealed under and
// seals them again with the key ring's current key.
func ResealIdentity(keys *protect.Keyring, id Identity) (Identity, error) {
	out := id
	for _, f := range []struct {
		column string
		val    []byte
		dst    *[]byte
	}{{ColumnPersonalNumber, id.PersonalNumber, &out.PersonalNumber}, {ColumnName, id.Name, &out.Name}} {
		if f.val == nil {
			continue
		}
		plain, err := keys.Open(id.KeyID, f.val, IdentityAAD(id.ParticipantID, f.column))
		if err != nil {
			return id, err
		}
		keyID, sealed, err := keys.Seal(plain, IdentityAAD(id.ParticipantID, f.column))
		if err != nil {
			return id, err
		}
		out.KeyID, *f.dst = keyID, sealed
	}
	return out, nil
}

// Identity is who a participant is: name and personal identity number sealed by the
// caller (AES-GCM under KeyID), and their case worker.
type Identity struct {
	ParticipantID  string
	CaseWorkerID   string
	KeyID          string
	PersonalNumber []byte // sealed
	Name           []byte // sealed
	ErasedAt       *time.Time
}

// SaveIdentity stores a participant's identity when they have none yet, or when
// retention erased the one they had (they came back); an existing one is kept (a
// repeated referral never overwrites what is there). It reports whether it wrote.
func (s *Store) SaveIdentity(ctx context.Context, id Identity) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO participant_identity (participant_id, case_worker_id, key_id, personal_number, name)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (participant_id) DO UPDATE SET
			case_worker_id = EXCLUDED.case_worker_id, key_id = EXCLUDED.key_id, personal_number = EXCLUDED.personal_number,
			name = EXCLUDED.name, created_at = now(), erased_at = NULL
		WHERE participant_identity.erased_at IS NOT NULL`,
		id.ParticipantID, nullable(id.CaseWorkerID), nullable(id.KeyID), id.PersonalNumber, id.Name)
	if err != nil {
		return false, fmt.Errorf("save participant identity: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// IdentityOf reads a participant's identity; ErrNotFound when there is none.
func (s *Store) IdentityOf(ctx context.Context, participantID string) (Identity, error) {
	id := Identity{ParticipantID: participantID}
	err := s.Pool.QueryRow(ctx, `SELECT coalesce(case_worker_id, ''), coalesce(key_id, ''), personal_number, name, erased_at
		FROM participant_identity WHERE participant_id = $1`, participantID).
		Scan(&id.CaseWorkerID, &id.KeyID, &id.PersonalNumber, &id.Name, &id.ErasedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return id, ErrNotFound
	}
	if err != nil {
		return id, fmt.Errorf("read participant identity: %w", err)
	}
	return id, nil
}

// Reseal re-encrypts every identity not sealed under keyID with reseal, in batches,
// for key rotation; it returns how many it changed.
func (s *Store) Reseal(ctx context.Context, keyID string, reseal func(Identity) (Identity, error)) (int, error) {
	n := 0
	for {
		rows, err := s.Pool.Query(ctx, `SELECT participant_id, coalesce(case_worker_id, ''), key_id, personal_number, name
			FROM participant_identity WHERE key_id IS NOT NULL AND key_id <> $1 ORDER BY participant_id LIMIT 500`, keyID)
		if err != nil {
			return n, fmt.Errorf("read identities to re-encrypt: %w", err)
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Identity, error) {
			var id Identity
			return id, r.Scan(&id.ParticipantID, &id.CaseWorkerID, &id.KeyID, &id.PersonalNumber, &id.Name)
		})
		if err != nil || len(list) == 0 {
			return n, err
		}
		for _, old := range list {
			next, err := reseal(old)
			if err != nil {
				return n, fmt.Errorf("participant %s: %w", old.ParticipantID, err)
			}
			if _, err := s.Pool.Exec(ctx, `UPDATE participant_identity SET key_id = $2, personal_number = $3, name = $4
				WHERE participant_id = $1 AND key_id = $5`, old.ParticipantID, next.KeyID, next.PersonalNumber, next.Name, old.KeyID); err != nil {
				return n, fmt.Errorf("re-encrypt participant %s: %w", old.ParticipantID, err)
			}
			n++
		}
	}
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	Actor         string
	ParticipantID string
	From, To      time.Time
	Before        int64 // keyset: entries older than this id
	Limit         int
}

// AuditRecord is an audit entry with its id, for paging.
type AuditRecord struct {
	ID int64 `json:"id"`
	AuditEntry
}

// AuditLog lists audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, at, actor, action, coalesce(participant_id, ''), outcome, detail, coalesce(request_id, '')
		FROM audit_log
		WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR participant_id = $2)
		  AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
		  AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, f.Actor, f.ParticipantID, nullTime(f.From), nullTime(f.To), f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRecord, error) {
		var e AuditRecord
		return e, r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.ParticipantID, &e.Outcome, &e.Detail, &e.RequestID)
	})
}

// AuditMany appends one entry per participant in one statement: a list read is
// logged as a read of each participant it showed.
func (s *Store) AuditMany(ctx context.Context, e AuditEntry, participantIDs []string) error {
	if len(participantIDs) == 0 {
		return s.Audit(ctx, e)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO audit_log (actor, action, participant_id, outcome, detail, request_id)
		SELECT $1, $2, p, $3, $4, $5 FROM unnest($6::text[]) AS p`,
		e.Actor, e.Action, e.Outcome, jsonOrEmpty(e.Detail), e.RequestID, participantIDs)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func jsonOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
