package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/stegvis/stegvis/auth"
	"github.com/stegvis/stegvis/store"
)

// The demo organisation of `stegvis dev`: one unit with a team, and one user of each
// role. The README walkthrough signs in as them.
var (
	devUnit  = store.Unit{UnitID: "arbetsmarknad", Name: "Arbetsmarknadsenheten", Active: true}
	devStaff = []store.Staff{
		{StaffID: "um-cecilia", Name: "Cecilia (enhetschef)", UnitID: "arbetsmarknad", Role: "unit_manager", Active: true},
		{StaffID: "tl-bo", Name: "Bo (teamledare)", UnitID: "arbetsmarknad", Role: "team_lead", ReportsTo: "um-cecilia", Active: true},
		{StaffID: "g-anna", Name: "Anna (jobbguide)", UnitID: "arbetsmarknad", Role: "guide", ReportsTo: "tl-bo", Active: true},
		{StaffID: "g-karim", Name: "Karim (jobbguide)", UnitID: "arbetsmarknad", Role: "guide", ReportsTo: "tl-bo", Active: true},
		{StaffID: "cw-dina", Name: "Dina (socialsekreterare)", UnitID: "arbetsmarknad", Role: "case_worker", Active: true},
	}
	devUsers = []auth.DevUser{
		{ID: "g-anna", Role: auth.Guide}, {ID: "g-karim", Role: auth.Guide}, {ID: "tl-bo", Role: auth.TeamLead},
		{ID: "um-cecilia", Role: auth.UnitManager}, {ID: "cw-dina", Role: auth.CaseWorker},
		{ID: "admin-erik", Role: auth.Admin}, {ID: "ekb-system", Role: auth.System},
	}
)

// devTokenTTL is long enough for a laptop session; dev mints fresh ones at every start.
const devTokenTTL = 30 * 24 * time.Hour

// seedDevOrgChart adds the demo unit and staff when they are missing; what an admin
// changed since is kept.
func seedDevOrgChart(ctx context.Context, st *store.Store) error {
	if err := st.UpsertUnitIfMissing(ctx, devUnit); err != nil {
		return err
	}
	for _, s := range devStaff {
		if _, err := st.StaffMember(ctx, s.StaffID); errors.Is(err, store.ErrNotFound) {
			if err := st.UpsertStaff(ctx, s); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// mintDevTokens writes .data/dev-tokens.json and prints one line per user.
func mintDevTokens(ctx context.Context, iss *auth.DevIssuer, dataDir string, out io.Writer) ([]auth.DevUser, error) {
	file := filepath.Join(dataDir, "dev-tokens.json")
	users, err := iss.MintAll(ctx, devUsers, devTokenTTL, file)
	if err != nil {
		return nil, fmt.Errorf("write dev tokens: %w", err)
	}
	fmt.Fprintf(out, "  Tokens       in %s, valid %d days; send one as Authorization: Bearer <token>\n", file, int(devTokenTTL.Hours()/24))
	for _, u := range users {
		fmt.Fprintf(out, "    %-11s %-13s %s\n", u.ID, u.Role, u.Token)
	}
	return users, nil
}
