package daemon

// checkPrivate trusts the data dir's ACL on Windows: the default one under
// the user's profile grants only that user, SYSTEM and administrators.
func checkPrivate(string) error { return nil }
