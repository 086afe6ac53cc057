package main

import (
	"context"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/stegvis/stegvis/config"
	"github.com/stegvis/stegvis/protect"
	"github.com/stegvis/stegvis/store"
)

// rekeyCommand re-encrypts participants' identities under the current key, the last
// step of a key rotation: after it, the old key can leave ENCRYPTION_KEYS.
func rekeyCommand(out *os.File) *ffcli.Command {
	var (
		db config.Database
		kc config.Keys
	)
	fs := newFlagSet("rekey")
	db.RegisterURL(fs)
	kc.Register(fs)
	return &ffcli.Command{
		Name:       "rekey",
		ShortUsage: "stegvis rekey [flags]",
		ShortHelp:  "re-encrypt every participant's name and personal identity number with the current (first) key in ENCRYPTION_KEYS",
		FlagSet:    fs,
		Options:    envOptions,
		Exec: func(ctx context.Context, _ []string) error {
			keys, err := protect.ParseKeys(kc.EncryptionKeys)
			if err != nil {
				return err
			}
			db.Migrate = true
			st, err := openStore(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.Reseal(ctx, keys.CurrentID(), func(id store.Identity) (store.Identity, error) {
				return store.ResealIdentity(keys, id)
			})
			fmt.Fprintf(out, "%d identities re-encrypted with key %s\n", n, keys.CurrentID())
			return err
		},
	}
}
