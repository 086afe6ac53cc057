package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Unit is a part of the organisation that runs journeys.
type Unit struct {
	UnitID string `json:"unitId"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// Staff is a person in the org chart.
type Staff struct {
	StaffID   string `json:"staffId"`
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	UnitID    string `json:"unitId"`
	Role      string `json:"role"` // guide, team_lead, unit_manager or case_worker
	ReportsTo string `json:"reportsTo,omitempty"`
	Active    bool   `json:"active"`
}

// ErrNotFound means the row does not exist.
var ErrNotFound = errors.New("not found")

// ConstraintError says which reference or rule a write broke, for a 4xx.
type ConstraintError struct{ Message string }

func (e *ConstraintError) Error() string { return e.Message }

func constraint(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.ConstraintName {
		case "staff_unit_id_fkey":
			return &ConstraintError{"unitId names no unit: create the unit first"}
		case "staff_reports_to_fkey":
			return &ConstraintError{"reportsTo names no staff member: add them first"}
		case "staff_role_check":
			return &ConstraintError{"role must be guide, team_lead, unit_manager or case_worker"}
		}
	}
	return err
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// UpsertUnit creates or updates a unit.
func (s *Store) UpsertUnit(ctx context.Context, u Unit) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO units (unit_id, name, active) VALUES ($1, $2, $3)
		ON CONFLICT (unit_id) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active, updated_at = now()`,
		u.UnitID, u.Name, u.Active)
	if err != nil {
		return fmt.Errorf("save unit: %w", constraint(err))
	}
	return nil
}

// Units lists the units.
func (s *Store) Units(ctx context.Context) ([]Unit, error) {
	rows, err := s.Pool.Query(ctx, `SELECT unit_id, name, active FROM units ORDER BY unit_id`)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unit, error) {
		var u Unit
		return u, r.Scan(&u.UnitID, &u.Name, &u.Active)
	})
}

// SetUnitActive deactivates or reactivates a unit.
func (s *Store) SetUnitActive(ctx context.Context, id string, active bool) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE units SET active = $2, updated_at = now() WHERE unit_id = $1`, id, active)
	if err != nil {
		return fmt.Errorf("update unit: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// UpsertStaff creates or updates a staff member.
func (s *Store) UpsertStaff(ctx context.Context, st Staff) error {
	return upsertStaff(ctx, s.Pool, st)
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func upsertStaff(ctx context.Context, db execer, st Staff) error {
	_, err := db.Exec(ctx, `INSERT INTO staff (staff_id, name, email, unit_id, role, reports_to, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (staff_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, unit_id = EXCLUDED.unit_id,
			role = EXCLUDED.role, reports_to = EXCLUDED.reports_to, active = EXCLUDED.active, updated_at = now()`,
		st.StaffID, st.Name, nullable(st.Email), st.UnitID, st.Role, nullable(st.ReportsTo), st.Active)
	if err != nil {
		return fmt.Errorf("save staff member %s: %w", st.StaffID, constraint(err))
	}
	return nil
}

// UpsertStaffBatch saves many staff members in one transaction: all or none. Managers
// are saved before those who report to them whatever the order given.
func (s *Store) UpsertStaffBatch(ctx context.Context, list []Staff) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Without reportsTo first, then with: a file may list a guide before their lead.
		for _, st := range list {
			plain := st
			plain.ReportsTo = ""
			if err := upsertStaff(ctx, tx, plain); err != nil {
				return err
			}
		}
		for _, st := range list {
			if st.ReportsTo == "" {
				continue
			}
			if err := upsertStaff(ctx, tx, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// StaffList lists staff, optionally of one unit.
func (s *Store) StaffList(ctx context.Context, unit string) ([]Staff, error) {
	rows, err := s.Pool.Query(ctx, `SELECT staff_id, name, coalesce(email, ''), unit_id, role, coalesce(reports_to, ''), active
		FROM staff WHERE $1 = '' OR unit_id = $1 ORDER BY staff_id`, unit)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Staff, error) {
		var st Staff
		return st, r.Scan(&st.StaffID, &st.Name, &st.Email, &st.UnitID, &st.Role, &st.ReportsTo, &st.Active)
	})
}

// SetStaffActive deactivates or reactivates a staff member.
func (s *Store) SetStaffActive(ctx context.Context, id string, active bool) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE staff SET active = $2, updated_at = now() WHERE staff_id = $1`, id, active)
	if err != nil {
		return fmt.Errorf("update staff member: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ResolveRecipient finds who receives a notice for a role, as the org chart is now:
// the guide's own lead for team_lead (their reportsTo, else the unit's team lead), the
// team lead's manager for unit_manager (else the unit's manager), and the unit's case
// worker. It returns "" when the chart names nobody; how it was found is the second value.
func (s *Store) ResolveRecipient(ctx context.Context, role, unit, guideID string) (string, string, error) {
	var id string
	q := func(sql string, args ...any) (bool, error) {
		err := s.Pool.QueryRow(ctx, sql, args...).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	byUnit := `SELECT staff_id FROM staff WHERE unit_id = $1 AND role = $2 AND active ORDER BY staff_id LIMIT 1`
	viaReports := `SELECT m.staff_id FROM staff s JOIN staff m ON m.staff_id = s.reports_to
		WHERE s.staff_id = $1 AND m.role = $2 AND m.active`
	switch role {
	case "team_lead":
		if guideID != "" {
			if ok, err := q(viaReports, guideID, "team_lead"); ok || err != nil {
				return id, "reports_to", err
			}
		}
		ok, err := q(byUnit, unit, "team_lead")
		return found(ok, id), "unit", err
	case "unit_manager":
		if guideID != "" {
			lead := `SELECT mm.staff_id FROM staff s JOIN staff m ON m.staff_id = s.reports_to JOIN staff mm ON mm.staff_id = m.reports_to
				WHERE s.staff_id = $1 AND mm.role = $2 AND mm.active`
			if ok, err := q(lead, guideID, "unit_manager"); ok || err != nil {
				return id, "reports_to", err
			}
		}
		ok, err := q(byUnit, unit, "unit_manager")
		return found(ok, id), "unit", err
	case "case_worker":
		ok, err := q(byUnit, unit, "case_worker")
		return found(ok, id), "unit", err
	}
	return "", "", nil
}

func found(ok bool, id string) string {
	if ok {
		return id
	}
	return ""
}

// UpsertUnitIfMissing creates a unit unless it exists.
func (s *Store) UpsertUnitIfMissing(ctx context.Context, u Unit) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO units (unit_id, name, active) VALUES ($1, $2, $3) ON CONFLICT (unit_id) DO NOTHING`,
		u.UnitID, u.Name, u.Active)
	if err != nil {
		return fmt.Errorf("save unit: %w", err)
	}
	return nil
}

// Unit returns one unit, active or not; ErrNotFound when there is none.
func (s *Store) Unit(ctx context.Context, id string) (Unit, error) {
	var u Unit
	err := s.Pool.QueryRow(ctx, `SELECT unit_id, name, active FROM units WHERE unit_id = $1`, id).Scan(&u.UnitID, &u.Name, &u.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("read unit: %w", err)
	}
	return u, nil
}

// ActiveUnitIDs lists up to limit active units' ids, sorted: what a refusal offers
// instead of an unknown unit.
func (s *Store) ActiveUnitIDs(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT unit_id FROM units WHERE active ORDER BY unit_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list active units: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ActiveStaffIDs lists up to limit ids of active staff with a role, of one unit (all
// units when unit is ""), sorted.
func (s *Store) ActiveStaffIDs(ctx context.Context, unit, role string, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT staff_id FROM staff WHERE active AND role = $2 AND ($1 = '' OR unit_id = $1)
		ORDER BY staff_id LIMIT $3`, unit, role, limit)
	if err != nil {
		return nil, fmt.Errorf("list active staff: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
