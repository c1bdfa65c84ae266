package runtime

// Placeholders until the runtime is implemented; see the issue.
type EventSink struct{}
type Session struct{}
type Batch struct{}
