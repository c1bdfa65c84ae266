// Package hostwire is the host's end of the wire protocol where it need
// not differ between host/, the host library, and the raw host of the
// acceptance checks, which keeps every frame and misbehaves on purpose:
// decoding what a plugin sends, and sending heartbeats.
package hostwire
