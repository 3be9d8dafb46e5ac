package conf

import (
	"os"
	"strings"
	"testing"
	"time"
)

// alertsBase is an interface, a virtual server and a VRRP instance with a sync group, to
// hang smtp_alert on: [[virtual_server]] at line 6, the [[vrrp_instance]]s at 11 and 17,
// [[vrrp_sync_group]] at 23.
const alertsBase = `[[interface]]
name = "eth0"
kind = "memory"
addresses = ["10.0.0.2/24"]

[[virtual_server]]
address = "10.0.0.1:80"
[[virtual_server.real_server]]
address = "10.0.0.20:80"

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = ["10.0.0.1"]

[[vrrp_instance]]
name = "VI_2"
interface = "eth0"
virtual_router_id = 52
virtual_ipaddress = ["10.0.0.3"]

[[vrrp_sync_group]]
name = "VG_1"
group = ["VI_1", "VI_2"]
`

// TestAlertsDefaults: without [alerts] nothing is mailed; with it, keepalived's defaults.
func TestAlertsDefaults(t *testing.T) {
	c := mustParse(t, alertsBase)
	if c.Alerts.Enabled() || c.Services[0].SMTPAlert || c.VRRPInstances[0].SMTPAlert || c.VRRPSyncGroups[0].SMTPAlert {
		t.Errorf("without [alerts]: %+v, service %v, instance %v, group %v", c.Alerts,
			c.Services[0].SMTPAlert, c.VRRPInstances[0].SMTPAlert, c.VRRPSyncGroups[0].SMTPAlert)
	}

	c = mustParse(t, alertsBase+`
[alerts]
notification_email = ["ops@example.com"]
smtp_server = "127.0.0.1"
`)
	want := Alerts{Emails: []string{"ops@example.com"}, Server: "127.0.0.1:25", ConnectTimeout: 30 * time.Second,
		SMTPAlertChecker: true}
	equalJSON(t, c.Alerts, want)
	if !c.Alerts.Enabled() {
		t.Error("not enabled")
	}
	// keepalived: real servers are mailed unless told otherwise, VRRP only when asked.
	if !c.Services[0].SMTPAlert || c.VRRPInstances[0].SMTPAlert || c.VRRPSyncGroups[0].SMTPAlert {
		t.Errorf("defaults: service %v, instance %v, group %v", c.Services[0].SMTPAlert,
			c.VRRPInstances[0].SMTPAlert, c.VRRPSyncGroups[0].SMTPAlert)
	}
}

// TestAlertsKeys reads every key, and the smtp_alert defaults as keepalived resolves them:
// the specific default (smtp_alert_vrrp, smtp_alert_checker), else smtp_alert.
func TestAlertsKeys(t *testing.T) {
	c := mustParse(t, alertsBase+`
[alerts]
notification_email = ["ops@example.com", "NOC <noc@example.com>"]
notification_email_from = "Load balancer <lb1@example.com>"
smtp_server = "[2001:db8::25]:2525"
smtp_helo_name = "lb1.example.com"
smtp_connect_timeout = 5
router_id = "LB1"
smtp_alert = true
smtp_alert_checker = false
no_email_faults = true
`)
	want := Alerts{
		Emails: []string{"ops@example.com", "NOC <noc@example.com>"}, From: "Load balancer <lb1@example.com>",
		Server: "[2001:db8::25]:2525", HeloName: "lb1.example.com", ConnectTimeout: 5 * time.Second,
		RouterID: "LB1", SMTPAlertVRRP: true, SMTPAlertChecker: false, NoEmailFaults: true,
	}
	equalJSON(t, c.Alerts, want)
	if c.Services[0].SMTPAlert || !c.VRRPInstances[0].SMTPAlert || !c.VRRPSyncGroups[0].SMTPAlert {
		t.Errorf("service %v, instance %v, group %v", c.Services[0].SMTPAlert, c.VRRPInstances[0].SMTPAlert,
			c.VRRPSyncGroups[0].SMTPAlert)
	}

	// Each table's own smtp_alert wins over the defaults.
	src := strings.Replace(alertsBase, "virtual_router_id = 51\n", "virtual_router_id = 51\nsmtp_alert = true\n", 1)
	src = strings.Replace(src, "address = \"10.0.0.1:80\"\n", "address = \"10.0.0.1:80\"\nsmtp_alert = false\n", 1)
	c = mustParse(t, src+"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"mail.example.com\"\n")
	if c.Services[0].SMTPAlert || !c.VRRPInstances[0].SMTPAlert || c.VRRPInstances[1].SMTPAlert {
		t.Errorf("own: service %v, instances %v %v", c.Services[0].SMTPAlert, c.VRRPInstances[0].SMTPAlert,
			c.VRRPInstances[1].SMTPAlert)
	}
	if c.Alerts.Server != "mail.example.com:25" {
		t.Errorf("server %q", c.Alerts.Server)
	}
	// smtp_alert = false needs no [alerts]: it asks for nothing.
	mustParse(t, strings.Replace(alertsBase, "address = \"10.0.0.1:80\"\n", "address = \"10.0.0.1:80\"\nsmtp_alert = false\n", 1))
}

// TestAlertsServer: the forms of smtp_server, each made HOST:PORT.
func TestAlertsServer(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.25":            "10.0.0.25:25",
		"10.0.0.25:587":        "10.0.0.25:587",
		"2001:db8::25":         "[2001:db8::25]:25",
		"[2001:db8::25]":       "[2001:db8::25]:25",
		"[2001:db8::25]:25":    "[2001:db8::25]:25",
		"mail.example.com":     "mail.example.com:25",
		"mail.example.com.:26": "mail.example.com.:26",
		"localhost":            "localhost:25",
		"127.0.0.1":            "127.0.0.1:25",
	} {
		c, err := Parse("t.toml", []byte("[alerts]\nnotification_email = [\"a@b.c\"]\nsmtp_server = \""+in+"\"\n"))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if c.Alerts.Server != want {
			t.Errorf("%q: server %q, want %q", in, c.Alerts.Server, want)
		}
	}
}

// TestAlertsErrors: each mistake names file:line:column and the key, and a bad [alerts]
// brings no second error from the smtp_alert that needs it.
func TestAlertsErrors(t *testing.T) {
	const ok = "[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"10.0.0.25\"\n"
	// The [alerts] table starts at line 27 of alertsBase+"\n"+in.
	for in, msg := range map[string]string{
		"[alerts]\nsmtp_server = \"10.0.0.25\"\n":                                                                        "t.toml:27:1: alerts.notification_email: missing: who the alerts are mailed to",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\n":                                                         "t.toml:27:1: alerts.smtp_server: missing: the SMTP server",
		"[alerts]\nnotification_email = []\nsmtp_server = \"10.0.0.25\"\n":                                               "t.toml:28:1: alerts.notification_email: must list at least one address",
		"[alerts]\nnotification_email = [\"ops@example.com\", \"ops\"]\nsmtp_server = \"10.0.0.25\"\n":                   "t.toml:28:42: alerts.notification_email[1]: \"ops\" is not an e-mail address",
		"[alerts]\nnotification_email = [\"ops@example.com\", \"Ops <ops@example.com>\"]\nsmtp_server = \"10.0.0.25\"\n": "t.toml:28:42: alerts.notification_email[1]: ops@example.com is listed twice",
		"[alerts]\nnotification_email = \"ops@example.com\"\nsmtp_server = \"10.0.0.25\"\n":                              "t.toml:28:1: alerts.notification_email: must be an array, not the string",
		ok + "notification_email_from = \"uvs\"\n":                                                                       "t.toml:30:1: alerts.notification_email_from: \"uvs\" is not an e-mail address",
		ok + "notification_email_from = \"a@b.c\\r\\nBcc: x\"\n":                                                         "t.toml:30:1: alerts.notification_email_from: ",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"10.0.0.25 25\"\n":                         "t.toml:29:1: alerts.smtp_server: \"10.0.0.25 25\": write the port after a colon, \"10.0.0.25:25\"",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"10.0.0.25:99999\"\n":                      "t.toml:29:1: alerts.smtp_server: \"10.0.0.25:99999\": the port must be 1-65535",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"224.0.0.1\"\n":                            "t.toml:29:1: alerts.smtp_server: 224.0.0.1 is not an address an SMTP server can have",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"mail example\"\n":                         "t.toml:29:1: alerts.smtp_server: \"mail example\" is not an address or a host name",
		"[alerts]\nnotification_email = [\"ops@example.com\"]\nsmtp_server = \"2001:db8::25:x\"\n":                       "t.toml:29:1: alerts.smtp_server: \"2001:db8::25:x\" is not HOST, HOST:PORT or [IPV6]:PORT",
		ok + "smtp_connect_timeout = 0\n":                                                                                "t.toml:30:1: alerts.smtp_connect_timeout: must be between 1 and 3600, not 0",
		ok + "smtp_connect_timeout = \"30s\"\n":                                                                          "t.toml:30:1: alerts.smtp_connect_timeout: must be an integer",
		ok + "smtp_helo_name = \"lb 1\"\n":                                                                               "t.toml:30:1: alerts.smtp_helo_name: \"lb 1\" is not a host name",
		ok + "router_id = \"\"\n":                                                                                        "t.toml:30:1: alerts.router_id: must be a non-empty name on one line",
		ok + "router_id = \"a\\nb\"\n":                                                                                   "t.toml:30:1: alerts.router_id: must be a non-empty name on one line",
		ok + "smtp_alert = \"yes\"\n":                                                                                    "t.toml:30:1: alerts.smtp_alert: must be a boolean",
		ok + "smtp_port = 25\n":                                                                                          "t.toml:30:1: alerts.smtp_port: unknown key",
	} {
		_, err := Parse("t.toml", []byte(alertsBase+"\n"+in))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q:\ngot  %v\nwant %q", in, err, msg)
		}
	}

	if _, err := Parse("t.toml", []byte("alerts = 1\n"+alertsBase)); err == nil || !strings.Contains(err.Error(), "t.toml:1:1: alerts: must be a table, not the integer 1") {
		t.Errorf("alerts = 1: %v", err)
	}

	// smtp_alert = true with no [alerts], on each kind of table.
	for _, c := range []struct{ after, key string }{
		{"address = \"10.0.0.1:80\"\n", "t.toml:8:1: virtual_server[0].smtp_alert: mails through the [alerts] table"},
		{"virtual_router_id = 51\n", "t.toml:15:1: vrrp_instance[0].smtp_alert: mails through the [alerts] table"},
		{"name = \"VG_1\"\n", "t.toml:25:1: vrrp_sync_group[0].smtp_alert: mails through the [alerts] table"},
	} {
		src := strings.Replace(alertsBase, c.after, c.after+"smtp_alert = true\n", 1)
		_, err := Parse("t.toml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("smtp_alert after %q:\ngot  %v\nwant %q", c.after, err, c.key)
		}
		// A broken [alerts] is reported once, not again at each smtp_alert.
		_, err = Parse("t.toml", []byte(src+"[alerts]\nsmtp_server = \"10.0.0.25\"\n"))
		if err == nil || strings.Contains(err.Error(), "smtp_alert") || !strings.Contains(err.Error(), "alerts.notification_email: missing") {
			t.Errorf("smtp_alert after %q with a bad [alerts]: %v", c.after, err)
		}
	}
}

// TestAlertsDoc parses the example of docs/config.md's [alerts] section.
func TestAlertsDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## `[alerts]`\n")
	if !ok {
		t.Fatal("docs/config.md has no [alerts] section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	_, block, ok := strings.Cut(sec, "```toml\n")
	if !ok {
		t.Fatal("no TOML example in the [alerts] section")
	}
	block, _, _ = strings.Cut(block, "```")
	c, err := Parse("config.md [alerts]", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Alerts.Enabled() || len(c.VRRPInstances) == 0 || !c.VRRPInstances[0].SMTPAlert {
		t.Errorf("the example mails nothing: %+v", c.Alerts)
	}
}
