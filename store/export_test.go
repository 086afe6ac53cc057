package store

// MigrateTo brings the schema to a version, up or down, for tests of one migration.
func (s *Store) MigrateTo(version uint) error {
	m, err := s.migrator()
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Migrate(version)
}

// MigrateSteps applies n migrations up, or -n down.
func (s *Store) MigrateSteps(n int) error {
	m, err := s.migrator()
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Steps(n)
}
