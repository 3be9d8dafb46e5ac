package main

import (
	"net/netip"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/uvs-lb/uvs/conf"
	"github.com/uvs-lb/uvs/lb"
)

// TestScriptUsersKeepCaps is the decision of what `uvs run` keeps across its drop of
// privileges, for a [run] user of nobody: nothing when every script runs as nobody (no user,
// nobody by name or number, nobody's own group), CAP_SETGID for another group alone,
// CAP_SETUID and CAP_SETGID for another user (a misc_check's or a vrrp_script's), the union
// over the scripts, and nothing for a user that does not exist (that script cannot run; it
// is listed with its error).
func TestScriptUsersKeepCaps(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	other, err := user.Lookup("daemon")
	if err != nil {
		t.Skip("no user daemon:", err)
	}
	otherGroup, err := user.LookupGroupId(other.Gid)
	if err != nil {
		t.Skip("no group of daemon:", err)
	}
	uid, _ := strconv.ParseUint(nobody.Uid, 10, 32)
	gid, _ := strconv.ParseUint(nobody.Gid, 10, 32)
	nobodyGroup, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Skip("no group of nobody:", err)
	}

	misc := func(user, group string) conf.Check {
		return conf.Check{Kind: conf.CheckMisc, Command: "/bin/true", User: user, Group: group}
	}
	cfgWith := func(checks []conf.Check, scripts ...conf.VRRPScript) *conf.Config {
		svc := conf.Service{ServiceConfig: lb.ServiceConfig{VIP: netip.MustParseAddr("10.0.0.1"), Port: 80, Proto: 6,
			Servers: []lb.ServerConfig{{Addr: netip.MustParseAddr("10.0.1.1"), Port: 80}}}}
		svc.ServerHealth = []conf.ServerHealth{{Checks: checks}}
		return &conf.Config{Services: []conf.Service{svc}, VRRPScripts: scripts}
	}
	both := capSetuid | capSetgid
	for _, tc := range []struct {
		name  string
		cfg   *conf.Config
		keep  uint64
		users int    // scripts listed
		what  string // in the first one's description
		err   bool   // the first one has an error
	}{
		{"no scripts", &conf.Config{}, 0, 0, "", false},
		{"a check that is not a script", cfgWith([]conf.Check{{Kind: conf.CheckTCP}}), 0, 0, "", false},
		{"script without a user", cfgWith([]conf.Check{misc("", "")}), 0, 0, "", false},
		{"the run user by name", cfgWith([]conf.Check{misc("nobody", "")}), 0, 0, "", false},
		{"the run user by number", cfgWith([]conf.Check{misc(nobody.Uid, "")}), 0, 0, "", false},
		{"the run user and its group", cfgWith([]conf.Check{misc("nobody", nobodyGroup.Name)}), 0, 0, "", false},
		{"misc_check of another user", cfgWith([]conf.Check{misc(other.Username, "")}), both, 1, "misc_check \"/bin/true\" of real server 10.0.1.1:80", false},
		{"another group alone", cfgWith([]conf.Check{misc("nobody", otherGroup.Name)}), capSetgid, 1, "misc_check", false},
		{"vrrp_script of another user", cfgWith(nil, conf.VRRPScript{Name: "chk", Script: "/bin/true", User: other.Username}), both, 1, `vrrp_script "chk"`, false},
		{"vrrp_script of the run user", cfgWith(nil, conf.VRRPScript{Name: "chk", Script: "/bin/true", User: "nobody"}), 0, 0, "", false},
		{"the union", cfgWith([]conf.Check{misc("nobody", otherGroup.Name), misc("", "")}, conf.VRRPScript{Name: "chk", Script: "/bin/true", User: other.Username}), both, 2, "misc_check", false},
		{"an unknown user", cfgWith([]conf.Check{misc("no-such-user-uvs", "")}), 0, 1, "misc_check", true},
		{"an unknown user beside another user", cfgWith([]conf.Check{misc("no-such-user-uvs", ""), misc(other.Username, "")}), both, 2, "misc_check", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			us := scriptUsers(tc.cfg, uint32(uid), uint32(gid))
			if got := keepCaps(us); got != tc.keep {
				t.Errorf("keepCaps = %s, want %s", capNames(got), capNames(tc.keep))
			}
			if len(us) != tc.users {
				t.Fatalf("scriptUsers: %d, want %d: %+v", len(us), tc.users, us)
			}
			if len(us) > 0 {
				if !strings.Contains(us[0].what, tc.what) {
					t.Errorf("scriptUsers[0].what = %q, want it to contain %q", us[0].what, tc.what)
				}
				if (us[0].err != nil) != tc.err {
					t.Errorf("scriptUsers[0].err = %v", us[0].err)
				}
			}
		})
	}
	if got := capNames(both); got != "CAP_SETUID|CAP_SETGID" {
		t.Errorf("capNames = %q", got)
	}
}
