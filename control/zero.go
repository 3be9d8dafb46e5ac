package control

import (
	"errors"
	"net/netip"
)

// zero records the counters of the service k names (every service when k is empty) and its
// servers as the new baseline, as ipvsadm -Z.
func (s *API) zero(k *ServiceKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var want *svcID
	if *k != (ServiceKey{}) {
		sc, err := serviceConfigOf(k)
		if err != nil {
			return err
		}
		id := idOf(&sc)
		want = &id
	}
	found := false
	for _, ls := range s.o.Appliance.Engine().Table().Services() {
		id := idOf(ls.Config())
		if want != nil && id != *want {
			continue
		}
		found = true
		s.base.svcs[id] = ls.Counters().Snapshot()
		for _, d := range ls.Dests() {
			s.base.dests[destID{id, netip.AddrPortFrom(d.Addr, d.Port)}] = d.Counters().Snapshot()
		}
	}
	if want != nil && !found {
		return errors.New("No such service")
	}
	return nil
}
