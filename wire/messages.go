package wire

import "fmt"

// Magic opens every HELLO body, so a host can tell a plugctl plugin from a
// program that printed something else on its standard output.
const Magic = "PLUG"

// Role says whether a plugin produces events or consumes them.
type Role uint8

// The roles.
const (
	RoleSource Role = 1
	RoleSink   Role = 2
)

// String returns "source" or "sink".
func (r Role) String() string {
	switch r {
	case RoleSource:
		return "source"
	case RoleSink:
		return "sink"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Hello is the plugin's first frame.
type Hello struct {
	Versions   []uint16 // protocol versions the plugin speaks
	ID         string   // plugin id, from the environment (EnvPluginID)
	Name       string
	Version    string // the plugin's own version, from its build
	Role       Role
	EventKinds []string // kind table: an event's kind is an index into it
}

// AppendTo appends the encoded body to dst.
func (m *Hello) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e = append(e, Magic...)
	e.u32(uint32(len(m.Versions)))
	for _, v := range m.Versions {
		e.u16(v)
	}
	e.str(m.ID)
	e.str(m.Name)
	e.str(m.Version)
	e.u8(uint8(m.Role))
	e.strs(m.EventKinds)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Hello) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgHello}
	if magic := d.take(len(Magic), "magic"); d.err == nil && string(magic) != Magic {
		return fmt.Errorf("%w: HELLO does not start with %q (got %q): not a plugctl plugin", ErrMalformed, Magic, magic)
	}
	n := d.count("versions", 2)
	m.Versions = make([]uint16, n)
	for i := range m.Versions {
		m.Versions[i] = d.u16("version")
	}
	m.ID = d.str("id")
	m.Name = d.str("name")
	m.Version = d.str("version")
	m.Role = Role(d.u8("role"))
	m.EventKinds = d.strs("event kinds")
	if err := d.end(); err != nil {
		return err
	}
	if len(m.EventKinds) > 65535 {
		return fmt.Errorf("%w: HELLO declares %d event kinds, at most 65535", ErrMalformed, len(m.EventKinds))
	}
	return nil
}

// NewestVersion is the newest protocol version that both this package and
// a plugin offering versions speak, or 0 when they have none in common: the
// version a host chooses.
func NewestVersion(versions []uint16) uint16 {
	var newest uint16
	for _, v := range versions {
		if v >= 1 && v <= ProtocolVersion {
			newest = max(newest, v)
		}
	}
	return newest
}

// HelloAck accepts a plugin and sets the session's limits.
type HelloAck struct {
	Version     uint16 // chosen protocol version
	MaxFrame    uint32 // largest body either side may send
	HeartbeatMS uint32 // heartbeat interval; a peer silent for 3 is dead
	Window      uint32 // batches in flight per instance before waiting
	Transport   uint8  // RingVersion on: TransportStream or TransportRing, for the plugin's frames
	// InputTransport is TransportStream or TransportRing for the host's
	// frames, InputRingVersion on.
	InputTransport uint8
}

// AppendTo appends the encoded body to dst.
func (m *HelloAck) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u16(m.Version)
	e.u32(m.MaxFrame)
	e.u32(m.HeartbeatMS)
	e.u32(m.Window)
	if m.Version >= RingVersion {
		e.u8(m.Transport)
	}
	if m.Version >= InputRingVersion {
		e.u8(m.InputTransport)
	}
	return e
}

// Decode parses a body produced by AppendTo.
func (m *HelloAck) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgHelloAck}
	m.Version = d.u16("version")
	m.MaxFrame = d.u32("max frame")
	m.HeartbeatMS = d.u32("heartbeat")
	m.Window = d.u32("window")
	m.Transport, m.InputTransport = TransportStream, TransportStream
	if m.Version >= RingVersion {
		m.Transport = d.u8("transport")
	}
	if m.Version >= InputRingVersion {
		m.InputTransport = d.u8("input transport")
	}
	if err := d.end(); err != nil {
		return err
	}
	switch {
	case m.MaxFrame < HelloMaxFrame || m.MaxFrame > MaxFrameLimit:
		return fmt.Errorf("%w: HELLO_ACK max frame %d outside [%d, %d]", ErrMalformed, m.MaxFrame, HelloMaxFrame, MaxFrameLimit)
	case m.HeartbeatMS == 0:
		return fmt.Errorf("%w: HELLO_ACK heartbeat interval is 0", ErrMalformed)
	case m.Window == 0:
		return fmt.Errorf("%w: HELLO_ACK window is 0", ErrMalformed)
	case m.Transport != TransportStream && m.Transport != TransportRing:
		return fmt.Errorf("%w: HELLO_ACK transport %d is neither 0 (stream) nor 1 (ring)", ErrMalformed, m.Transport)
	case m.InputTransport != TransportStream && m.InputTransport != TransportRing:
		return fmt.Errorf("%w: HELLO_ACK input transport %d is neither 0 (stream) nor 1 (ring)", ErrMalformed, m.InputTransport)
	}
	return nil
}

// RejectReason is a stable code saying why a host refused a plugin.
type RejectReason uint16

// Reject reasons; their numbers and names are stable.
const (
	RejectUnsupportedVersion RejectReason = 1  // no protocol version in common
	RejectMissingID          RejectReason = 2  // HELLO carried no plugin id
	RejectNotEnrolled        RejectReason = 3  // the id is not in the host's allow-list
	RejectRevoked            RejectReason = 4  // the enrollment was revoked
	RejectHashMismatch       RejectReason = 5  // the binary changed since enrollment
	RejectIdentityMismatch   RejectReason = 6  // name or version differ from the enrollment
	RejectWrongRole          RejectReason = 7  // the host wanted a source and got a sink, or the reverse
	RejectBadHello           RejectReason = 8  // HELLO was malformed
	RejectPolicy             RejectReason = 9  // any other refusal by the host's policy
	RejectPathMismatch       RejectReason = 10 // the executable is not the one enrolled under the id
	RejectBadSignature       RejectReason = 11 // the binary changed and its signature does not verify
	RejectTooManySessions    RejectReason = 12 // the enrollment's limit on concurrent sessions is reached
)

var rejectNames = map[RejectReason]string{
	RejectUnsupportedVersion: "unsupported_version",
	RejectMissingID:          "missing_id",
	RejectNotEnrolled:        "not_enrolled",
	RejectRevoked:            "revoked",
	RejectHashMismatch:       "hash_mismatch",
	RejectIdentityMismatch:   "identity_mismatch",
	RejectWrongRole:          "wrong_role",
	RejectBadHello:           "bad_hello",
	RejectPolicy:             "policy",
	RejectPathMismatch:       "path_mismatch",
	RejectBadSignature:       "bad_signature",
	RejectTooManySessions:    "too_many_sessions",
}

// String returns the reason's stable name, such as "not_enrolled".
func (r RejectReason) String() string {
	if s, ok := rejectNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reject_%d", uint16(r))
}

// Reject refuses a plugin during the handshake.
type Reject struct {
	Reason  RejectReason
	Message string
}

// AppendTo appends the encoded body to dst.
func (m *Reject) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u16(uint16(m.Reason))
	e.str(m.Message)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Reject) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgReject}
	m.Reason = RejectReason(d.u16("reason"))
	m.Message = d.str("message")
	return d.end()
}

// GoodbyeReason says why a side is ending the session.
type GoodbyeReason uint16

// Goodbye reasons.
const (
	GoodbyeNormal    GoodbyeReason = 0 // work is done, or the host asked
	GoodbyeSignal    GoodbyeReason = 1 // the plugin received SIGINT or SIGTERM
	GoodbyeRequested GoodbyeReason = 2 // the plugin answers the host's GOODBYE
	GoodbyeError     GoodbyeReason = 3 // the plugin failed; Message says how
	GoodbyeRevoked   GoodbyeReason = 4 // the host no longer accepts the plugin: its enrollment was revoked, removed or changed
)

var goodbyeNames = map[GoodbyeReason]string{
	GoodbyeNormal:    "normal",
	GoodbyeSignal:    "signal",
	GoodbyeRequested: "requested",
	GoodbyeError:     "error",
	GoodbyeRevoked:   "revoked",
}

// String returns the reason's name, or its number when it is unknown.
func (r GoodbyeReason) String() string {
	if s, ok := goodbyeNames[r]; ok {
		return s
	}
	return fmt.Sprintf("goodbye_%d", uint16(r))
}

// Goodbye ends a session cleanly.
type Goodbye struct {
	Reason  GoodbyeReason
	Message string
}

// AppendTo appends the encoded body to dst.
func (m *Goodbye) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u16(uint16(m.Reason))
	e.str(m.Message)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Goodbye) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgGoodbye}
	m.Reason = GoodbyeReason(d.u16("reason"))
	m.Message = d.str("message")
	return d.end()
}

// ErrorCode is a stable code for a fatal protocol error.
type ErrorCode uint16

// Error codes; their numbers and names are stable.
const (
	ErrCodeMalformed        ErrorCode = 1 // a frame could not be decoded
	ErrCodeTooLarge         ErrorCode = 2 // a frame was over the limit
	ErrCodeUnexpected       ErrorCode = 3 // a valid message at the wrong time or in the wrong direction
	ErrCodeUnknownInstance  ErrorCode = 4 // a frame named an instance that is not open
	ErrCodeWindowExceeded   ErrorCode = 5 // more batches in flight than the window allows
	ErrCodeHeartbeatTimeout ErrorCode = 6 // the peer was silent for 3 heartbeat intervals
	ErrCodeInternal         ErrorCode = 7 // the sender failed for a reason of its own
	ErrCodePositionOrder    ErrorCode = 8 // positions of an instance did not increase
	ErrCodeUnknownEventKind ErrorCode = 9 // an event named a kind outside the kind table
)

var errorNames = map[ErrorCode]string{
	ErrCodeMalformed:        "malformed",
	ErrCodeTooLarge:         "too_large",
	ErrCodeUnexpected:       "unexpected",
	ErrCodeUnknownInstance:  "unknown_instance",
	ErrCodeWindowExceeded:   "window_exceeded",
	ErrCodeHeartbeatTimeout: "heartbeat_timeout",
	ErrCodeInternal:         "internal",
	ErrCodePositionOrder:    "position_order",
	ErrCodeUnknownEventKind: "unknown_event_kind",
}

// String returns the code's stable name, such as "malformed".
func (c ErrorCode) String() string {
	if s, ok := errorNames[c]; ok {
		return s
	}
	return fmt.Sprintf("error_%d", uint16(c))
}

// ErrorMsg reports a fatal error; the sender closes the stream after it.
type ErrorMsg struct {
	Code    ErrorCode
	Message string
}

// AppendTo appends the encoded body to dst.
func (m *ErrorMsg) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u16(uint16(m.Code))
	e.str(m.Message)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *ErrorMsg) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgError}
	m.Code = ErrorCode(d.u16("code"))
	m.Message = d.str("message")
	return d.end()
}

// Error makes an ERROR frame usable as a Go error.
func (m *ErrorMsg) Error() string { return fmt.Sprintf("%s: %s", m.Code, m.Message) }

// Heartbeat proves the sender is alive.
type Heartbeat struct {
	UnixNano int64 // the sender's clock; informational
}

// AppendTo appends the encoded body to dst.
func (m *Heartbeat) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.i64(m.UnixNano)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Heartbeat) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgHeartbeat}
	m.UnixNano = d.i64("time")
	return d.end()
}

// Request carries the host's requests that expect a REPLY: SPEC_REQUEST,
// SETUP, OPEN, STOP and CLOSE. Settings is used by SETUP and OPEN; Resume
// only by OPEN (HasResume false: start from the beginning).
type Request struct {
	ID        uint32
	Settings  map[string]string
	HasResume bool
	Resume    uint64 // the last position the host acknowledged
}

// AppendTo appends the encoded body of a message of type t to dst.
func (m *Request) AppendTo(dst []byte, t MsgType) []byte {
	e := encoder(dst)
	e.u32(m.ID)
	switch t {
	case MsgSetup:
		e.settings(m.Settings)
	case MsgOpen:
		e.settings(m.Settings)
		e.bool(m.HasResume)
		e.u64(m.Resume)
	}
	return e
}

// Decode parses the body of a message of type t.
func (m *Request) Decode(b []byte, t MsgType) error {
	d := decoder{b: b, msg: t}
	*m = Request{ID: d.u32("request id")}
	switch t {
	case MsgSetup:
		m.Settings = d.settings("settings")
	case MsgOpen:
		m.Settings = d.settings("settings")
		m.HasResume = d.bool("has resume")
		m.Resume = d.u64("resume")
	case MsgSpecRequest, MsgStop, MsgClose:
	default:
		return fmt.Errorf("%w: %s is not a request", ErrMalformed, t)
	}
	return d.end()
}

// Status is the outcome of a request.
type Status uint8

// Request statuses.
const (
	StatusOK            Status = 0
	StatusInvalidConfig Status = 1 // Problems names each bad parameter
	StatusFailed        Status = 2 // the plugin could not do it; Message says why
	StatusUnsupported   Status = 3 // not valid in this state or for this role
)

// String returns the status's name, such as "invalid_config".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusInvalidConfig:
		return "invalid_config"
	case StatusFailed:
		return "failed"
	case StatusUnsupported:
		return "unsupported"
	}
	return fmt.Sprintf("status_%d", uint8(s))
}

// Problem is one invalid parameter in a configuration.
type Problem struct {
	Param   string
	Message string
}

// Reply answers one Request. HasPosition is set in the reply to STOP: the
// position of the last event the instance sent (sources) or wrote (sinks).
type Reply struct {
	ID          uint32
	Status      Status
	HasPosition bool
	Position    uint64
	Message     string
	Problems    []Problem
}

// AppendTo appends the encoded body to dst.
func (m *Reply) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u32(m.ID)
	e.u8(uint8(m.Status))
	e.bool(m.HasPosition)
	e.u64(m.Position)
	e.str(m.Message)
	e.u32(uint32(len(m.Problems)))
	for _, p := range m.Problems {
		e.str(p.Param)
		e.str(p.Message)
	}
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Reply) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgReply}
	m.ID = d.u32("request id")
	m.Status = Status(d.u8("status"))
	m.HasPosition = d.bool("has position")
	m.Position = d.u64("position")
	m.Message = d.str("message")
	m.Problems = nil
	if n := d.count("problems", 8); n > 0 {
		m.Problems = make([]Problem, n)
		for i := range m.Problems {
			m.Problems[i] = Problem{Param: d.str("problem param"), Message: d.str("problem message")}
		}
	}
	return d.end()
}

// Ack acknowledges every event of an instance up to and including Position.
type Ack struct {
	Position uint64
}

// AppendTo appends the encoded body to dst.
func (m *Ack) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u64(m.Position)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Ack) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgAck}
	m.Position = d.u64("position")
	return d.end()
}

// EndStatus says how a source instance ended; END carries it from
// protocol version 3 on.
type EndStatus uint8

// END statuses.
const (
	EndFinished EndStatus = 0 // the source reached the end of its stream
	EndFailed   EndStatus = 1 // the instance failed; the other instances go on
)

// String returns "finished" or "failed".
func (s EndStatus) String() string {
	switch s {
	case EndFinished:
		return "finished"
	case EndFailed:
		return "failed"
	}
	return fmt.Sprintf("end_status_%d", uint8(s))
}

// End says a source instance has finished for good; Position is its last
// event's. Status and Message exist on the wire from EndStatusVersion on;
// before it they are not encoded and every END means EndFinished.
type End struct {
	HasPosition bool // false when the instance sent no event
	Position    uint64
	Status      EndStatus
	Message     string // why the instance failed; empty when it finished
}

// AppendTo appends the body for a session of the given protocol version
// to dst.
func (m *End) AppendTo(dst []byte, version uint16) []byte {
	e := encoder(dst)
	e.bool(m.HasPosition)
	e.u64(m.Position)
	if version >= EndStatusVersion {
		e.u8(uint8(m.Status))
		e.str(m.Message)
	}
	return e
}

// Decode parses a body of a session of the given protocol version.
func (m *End) Decode(b []byte, version uint16) error {
	d := decoder{b: b, msg: MsgEnd}
	*m = End{}
	m.HasPosition = d.bool("has position")
	m.Position = d.u64("position")
	if version >= EndStatusVersion {
		m.Status = EndStatus(d.u8("status"))
		m.Message = d.str("message")
	}
	if err := d.end(); err != nil {
		return err
	}
	if m.Status > EndFailed {
		return fmt.Errorf("%w: END status %d unknown", ErrMalformed, m.Status)
	}
	return nil
}

// Progress reports how far a source with a known end has come.
type Progress struct {
	Percent float64 // 0 to 100
	Text    string  // optional detail, such as "12 of 40 MiB"
}

// AppendTo appends the encoded body to dst.
func (m *Progress) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.f64(m.Percent)
	e.str(m.Text)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Progress) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgProgress}
	m.Percent = d.f64("percent")
	m.Text = d.str("text")
	if err := d.end(); err != nil {
		return err
	}
	if !(m.Percent >= 0 && m.Percent <= 100) {
		return fmt.Errorf("%w: PROGRESS percent %v outside [0, 100]", ErrMalformed, m.Percent)
	}
	return nil
}

// WriteStatus is a sink's verdict on one written batch, as Fluent Bit's
// FLB_OK, FLB_RETRY and FLB_ERROR.
type WriteStatus uint8

// Write statuses.
const (
	WriteOK    WriteStatus = 0 // written; the host may forget the batch
	WriteRetry WriteStatus = 1 // not written, try the same batch again later
	WriteError WriteStatus = 2 // not written and never will be: dropped
)

// String returns "ok", "retry" or "error".
func (s WriteStatus) String() string {
	switch s {
	case WriteOK:
		return "ok"
	case WriteRetry:
		return "retry"
	case WriteError:
		return "error"
	}
	return fmt.Sprintf("write_status_%d", uint8(s))
}

// Result answers one WRITE.
type Result struct {
	Batch   uint64 // the WRITE's batch id
	Status  WriteStatus
	Message string
}

// AppendTo appends the encoded body to dst.
func (m *Result) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	e.u64(m.Batch)
	e.u8(uint8(m.Status))
	e.str(m.Message)
	return e
}

// Decode parses a body produced by AppendTo.
func (m *Result) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgResult}
	m.Batch = d.u64("batch")
	m.Status = WriteStatus(d.u8("status"))
	m.Message = d.str("message")
	if err := d.end(); err != nil {
		return err
	}
	if m.Status > WriteError {
		return fmt.Errorf("%w: RESULT status %d unknown", ErrMalformed, m.Status)
	}
	return nil
}
