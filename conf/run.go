package conf

// Run is the [run] table: how `uvs run` runs once its ports and listeners are open.
type Run struct {
	// User and Group, when User is set, are who uvs becomes after opening its ports, the
	// control socket and the listeners: names or numeric IDs. Group defaults to User's
	// primary group; the supplementary groups become User's. Every capability is dropped and
	// no_new_privs set. "" (the default): uvs keeps running as it was started.
	User, Group string
	// ScriptSecurity is keepalived's enable_script_security, on by default: a script
	// (notify, misc_check, vrrp_script) is refused when its file or a directory above it is
	// not owned by root or is writable by a user or group other than root (a sticky
	// directory may be world-writable).
	ScriptSecurity bool
}

// defaultRun is [run] when the file has none.
func defaultRun() Run { return Run{ScriptSecurity: true} }

// run reads the [run] table.
func (p *parser) run(c *Config, root *table) {
	c.Run = defaultRun()
	t, ok := root.Sub("run")
	if !ok {
		return
	}
	if v, ok := t.Str("user"); ok {
		if v == "" {
			t.Errorf("user", "empty: leave the key out to keep running as the starting user")
		} else {
			c.Run.User = v
		}
	}
	if v, ok := t.Str("group"); ok {
		if v == "" {
			t.Errorf("group", "empty: leave the key out for the user's primary group")
		} else {
			c.Run.Group = v
		}
	}
	if t.Has("group") && !t.Has("user") {
		t.Errorf("group", "a group without a user: set user too")
	}
	if v, ok := t.Bool("script_security"); ok {
		c.Run.ScriptSecurity = v
	}
	t.Done()
}

// run writes [run] when it differs from the default.
func (w *writer) run(r *Run) {
	if *r == defaultRun() || *r == (Run{}) {
		return
	}
	w.table("run")
	w.strIf("user", r.User, "")
	w.strIf("group", r.Group, "")
	w.boolIf("script_security", r.ScriptSecurity, true)
}
