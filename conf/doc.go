// Package conf reads uvs's TOML configuration: interfaces, virtual services with their real
// servers and health checks, firewall-mark rules, IPVS globals, logging, and VRRP (instances,
// scripts, tracked files, sync groups). The keys use keepalived's and ipvsadm's vocabulary
// (lb_algo, lb_kind, persistence_timeout, real_server, vrrp_instance, virtual_router_id, ...) so
// an LVS operator feels at home; docs/config.md is the reference.
//
// Reading is strict. Unknown keys, values of the wrong type, bad addresses and combinations the
// engine (or a keepalived peer) would refuse are all errors, each naming file:line:column and
// the key's path, and every error of a file is reported at once. A Config that Parse returns
// compiles (Engine) to an lb.Config that lb.Engine.Apply accepts; its VRRP part is plain data
// for package vrrp and the appliance, with every default resolved.
package conf
