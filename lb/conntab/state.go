package conntab

import "github.com/uvs-lb/uvs/packet"

// State is the state of an entry: IPVS's TCP states (same order and names as the kernel's
// IP_VS_TCP_S_*), the single state of UDP and other protocols, and the template state.
type State uint8

const (
	StateNone        State = iota // NONE: no segment seen yet
	StateEstablished              // ESTABLISHED
	StateSynSent                  // SYN_SENT: the real server sent a SYN first
	StateSynRecv                  // SYN_RECV: the client's SYN went through
	StateFinWait                  // FIN_WAIT
	StateTimeWait                 // TIME_WAIT
	StateClose                    // CLOSE
	StateCloseWait                // CLOSE_WAIT
	StateLastAck                  // LAST_ACK
	StateListen                   // LISTEN
	StateSynAck                   // SYNACK
	StateUDP                      // UDP and other protocols' single state
	StateTemplate                 // persistence template

	numTCPStates = int(StateSynAck) + 1
)

var stateNames = [...]string{
	StateNone:        "NONE",
	StateEstablished: "ESTABLISHED",
	StateSynSent:     "SYN_SENT",
	StateSynRecv:     "SYN_RECV",
	StateFinWait:     "FIN_WAIT",
	StateTimeWait:    "TIME_WAIT",
	StateClose:       "CLOSE",
	StateCloseWait:   "CLOSE_WAIT",
	StateLastAck:     "LAST_ACK",
	StateListen:      "LISTEN",
	StateSynAck:      "SYNACK",
	StateUDP:         "UDP",
	// ipvsadm -lnc shows templates in the kernel's template state IP_VS_CTPL_S_NONE, "NONE".
	StateTemplate: "NONE",
}

// String returns the name ipvsadm -lnc prints for the state ("ESTABLISHED", "SYN_RECV", "UDP";
// "NONE" for templates, as the kernel names its template state).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "ERR!"
}

// active reports whether a connection in state s counts in its real server's Active
// (activeconns) rather than Inactive (inactconns). This is the kernel's tcp_state_active
// table (Linux ≥ 4.10, "ipvs: count pre-established TCP states as active"): a connection being
// opened loads its server as much as an established one, so ESTABLISHED, SYN_SENT, SYN_RECV
// and SYNACK are active; every closing state, NONE and LISTEN are not. UDP and the other
// protocols never leave their single state and are always inactive (the kernel's UDP state
// transition never touches the counters, and every connection is bound inactive).
func (s State) active() bool {
	switch s {
	case StateEstablished, StateSynSent, StateSynRecv, StateSynAck:
		return true
	}
	return false
}

// The three IPVS TCP transition tables, chosen per packet:
//   - tblInput: client → server packets of a connection whose replies pass the appliance (NAT);
//   - tblOutput: real server → client packets (NAT replies);
//   - tblInputOnly: client → server packets of a connection whose replies bypass the appliance
//     (DR, TUN: the kernel's IP_VS_CONN_F_NOOUTPUT), which must guess the close from one side.
//
// Each has a secure_tcp variant (tblInput+numTables, ...), used while secure_tcp is on.
const (
	tblInput = iota
	tblOutput
	tblInputOnly
	numTables
)

// halfOpen reports whether a TCP connection in state s is embryonic: the client's SYN went
// through and the handshake has not completed (SYN_RECV, and SYNACK, where secure_tcp keeps
// a connection until the real server answers the client's ACK). These are what a SYN flood
// fills the table with, and what drop_entry evicts.
func (s State) halfOpen() bool { return s == StateSynRecv || s == StateSynAck }

// TCP events, picked from the flags with the kernel's precedence: RST, then SYN, then FIN,
// then ACK (a SYN|ACK is a syn event, a FIN|ACK a fin event).
const (
	evSyn = iota
	evFin
	evAck
	evRst
	numEvents
)

// tcpNext[table][state] lists the next state for the events syn, fin, ack, rst. It is the
// kernel's tcp_states (net/netfilter/ipvs/ip_vs_proto_tcp.c, the normal table, not the
// secure_tcp one), turned around: one row per current state instead of one row per event.
//
// Rows 3-5 are the kernel's tcp_states_dos, the secure_tcp tables: a client's ACK alone does
// not establish a NAT connection (SYN_RECV stays SYN_RECV until the real server's SYN|ACK
// moves it to SYNACK, and the server's next segment to ESTABLISHED), and a DR/TUN
// connection's first SYN puts it in SYNACK. The one change from the kernel's table is the
// one uvs's normal table has too: an ACK on NONE (sloppy_tcp's first segment) establishes.
var tcpNext = [2 * numTables][numTCPStates][numEvents]State{
	tblInput: {
		//                   syn            fin             ack               rst
		StateNone:        {StateSynRecv, StateClose, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateCloseWait, StateEstablished, StateClose},
		StateSynSent:     {StateEstablished, StateSynSent, StateSynSent, StateClose},
		StateSynRecv:     {StateSynRecv, StateTimeWait, StateEstablished, StateSynRecv},
		StateFinWait:     {StateSynRecv, StateTimeWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynRecv, StateTimeWait, StateTimeWait, StateClose},
		StateClose:       {StateSynRecv, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynRecv, StateCloseWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynRecv, StateLastAck, StateClose, StateLastAck},
		StateListen:      {StateSynRecv, StateListen, StateListen, StateListen},
		StateSynAck:      {StateSynRecv, StateTimeWait, StateEstablished, StateSynRecv},
	},
	tblOutput: {
		StateNone:        {StateSynSent, StateTimeWait, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateFinWait, StateEstablished, StateClose},
		StateSynSent:     {StateSynSent, StateSynSent, StateSynSent, StateSynSent},
		StateSynRecv:     {StateSynRecv, StateTimeWait, StateEstablished, StateClose},
		StateFinWait:     {StateSynSent, StateFinWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynSent, StateTimeWait, StateTimeWait, StateTimeWait},
		StateClose:       {StateSynSent, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynSent, StateTimeWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynSent, StateLastAck, StateLastAck, StateClose},
		StateListen:      {StateListen, StateListen, StateEstablished, StateClose},
		StateSynAck:      {StateSynRecv, StateTimeWait, StateEstablished, StateClose},
	},
	tblInputOnly: {
		StateNone:        {StateSynRecv, StateClose, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateFinWait, StateEstablished, StateClose},
		StateSynSent:     {StateEstablished, StateSynSent, StateSynSent, StateClose},
		StateSynRecv:     {StateSynRecv, StateTimeWait, StateEstablished, StateSynRecv},
		StateFinWait:     {StateSynRecv, StateFinWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynRecv, StateTimeWait, StateTimeWait, StateClose},
		StateClose:       {StateSynRecv, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynRecv, StateCloseWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynRecv, StateLastAck, StateClose, StateLastAck},
		StateListen:      {StateSynRecv, StateListen, StateListen, StateListen},
		StateSynAck:      {StateSynRecv, StateTimeWait, StateEstablished, StateClose},
	},
	numTables + tblInput: {
		//                   syn            fin             ack               rst
		StateNone:        {StateSynRecv, StateClose, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateCloseWait, StateEstablished, StateClose},
		StateSynSent:     {StateEstablished, StateSynSent, StateSynSent, StateClose},
		StateSynRecv:     {StateSynRecv, StateTimeWait, StateSynRecv, StateSynRecv},
		StateFinWait:     {StateSynRecv, StateTimeWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynRecv, StateTimeWait, StateTimeWait, StateClose},
		StateClose:       {StateSynRecv, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynRecv, StateCloseWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynRecv, StateLastAck, StateClose, StateLastAck},
		StateListen:      {StateSynRecv, StateListen, StateListen, StateListen},
		StateSynAck:      {StateSynAck, StateSynAck, StateSynAck, StateClose},
	},
	numTables + tblOutput: {
		StateNone:        {StateSynSent, StateTimeWait, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateFinWait, StateEstablished, StateClose},
		StateSynSent:     {StateSynSent, StateSynSent, StateSynSent, StateSynSent},
		StateSynRecv:     {StateSynAck, StateTimeWait, StateEstablished, StateClose},
		StateFinWait:     {StateSynSent, StateFinWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynSent, StateTimeWait, StateTimeWait, StateTimeWait},
		StateClose:       {StateSynSent, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynSent, StateTimeWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynSent, StateLastAck, StateLastAck, StateClose},
		StateListen:      {StateListen, StateListen, StateEstablished, StateClose},
		StateSynAck:      {StateSynAck, StateTimeWait, StateEstablished, StateClose},
	},
	numTables + tblInputOnly: {
		StateNone:        {StateSynAck, StateClose, StateEstablished, StateClose},
		StateEstablished: {StateEstablished, StateFinWait, StateEstablished, StateClose},
		StateSynSent:     {StateEstablished, StateSynSent, StateSynSent, StateClose},
		StateSynRecv:     {StateSynRecv, StateTimeWait, StateEstablished, StateSynRecv},
		StateFinWait:     {StateSynAck, StateFinWait, StateFinWait, StateClose},
		StateTimeWait:    {StateSynAck, StateTimeWait, StateTimeWait, StateClose},
		StateClose:       {StateSynAck, StateClose, StateClose, StateClose},
		StateCloseWait:   {StateSynAck, StateCloseWait, StateCloseWait, StateClose},
		StateLastAck:     {StateSynAck, StateLastAck, StateClose, StateLastAck},
		StateListen:      {StateSynAck, StateListen, StateListen, StateListen},
		StateSynAck:      {StateSynAck, StateTimeWait, StateEstablished, StateClose},
	},
}

// tcpTransition returns the state that a TCP segment with flags moves a connection in state
// cur to. A segment with none of SYN, FIN, ACK and RST (but some other flag) closes the
// connection, as in the kernel. tcpFlags == 0 is not a segment at all but the engine saying
// "no TCP header" (an ICMP error about the connection): the state is left alone, as IPVS does
// for ICMP errors.
func tcpTransition(tbl int, cur State, flags uint8) State {
	if flags == 0 || int(cur) >= numTCPStates {
		return cur
	}
	var ev int
	switch {
	case flags&packet.TCPRst != 0:
		ev = evRst
	case flags&packet.TCPSyn != 0:
		ev = evSyn
	case flags&packet.TCPFin != 0:
		ev = evFin
	case flags&packet.TCPAck != 0:
		ev = evAck
	default:
		return StateClose
	}
	return tcpNext[tbl][cur][ev]
}
