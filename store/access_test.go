package store_test

import (
	"context"
	"testing"

	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/store/storetest"
)

// TestKeyRotationReencryptsEveryIdentity: values sealed under k1 open after k2 is
// put first, rekey moves them all to k2, and then a ring without k1 opens them.
func TestKeyRotationReencryptsEveryIdentity(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.New(t)
	k1 := "k1:" + protect.GenerateKey()
	k2 := "k2:" + protect.GenerateKey()
	old, _ := protect.ParseKeys(k1)
	both, _ := protect.ParseKeys(k2 + "," + k1)
	onlyNew, _ := protect.ParseKeys(k2)
	for _, p := range []string{"rk-1", "rk-2", "rk-3"} {
		keyID, name, err := old.Seal([]byte("Name of "+p), store.IdentityAAD(p, store.ColumnName))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveIdentity(ctx, store.Identity{ParticipantID: p, KeyID: keyID, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.Reseal(ctx, both.CurrentID(), func(id store.Identity) (store.Identity, error) { return store.ResealIdentity(both, id) })
	if err != nil || n != 3 {
		t.Fatalf("rekey: %d %v", n, err)
	}
	for _, p := range []string{"rk-1", "rk-2", "rk-3"} {
		id, err := st.IdentityOf(ctx, p)
		if err != nil || id.KeyID != "k2" {
			t.Fatalf("%s: %+v %v", p, id, err)
		}
		plain, err := onlyNew.Open(id.KeyID, id.Name, store.IdentityAAD(p, store.ColumnName))
		if err != nil || string(plain) != "Name of "+p {
			t.Fatalf("%s after rekey: %q %v", p, plain, err)
		}
		// Moved to another participant, the value no longer opens.
		if _, err := onlyNew.Open(id.KeyID, id.Name, store.IdentityAAD("rk-other", store.ColumnName)); err == nil {
			t.Fatalf("%s's sealed name opened as another participant's", p)
		}
	}
	if n, err := st.Reseal(ctx, both.CurrentID(), func(id store.Identity) (store.Identity, error) { return store.ResealIdentity(both, id) }); err != nil || n != 0 {
		t.Fatalf("a second rekey changed %d (%v)", n, err)
	}
}
