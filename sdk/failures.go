package sdk

import (
	"errors"
	"fmt"
	"io"

	"github.com/plugctl/plugctl/wire"
)

// protoError is a protocol violation with the code to report it under.
type protoError struct {
	code wire.ErrorCode
	err  error
}

func (e protoError) Error() string { return e.err.Error() }

func (e protoError) Unwrap() error { return e.err }

// violation ends the session because the host broke the protocol.
func (s *server) violation(err error) {
	code := wire.ErrCodeMalformed
	var pe protoError
	switch {
	case errors.As(err, &pe):
		code = pe.code
	case errors.Is(err, wire.ErrFrameTooLarge):
		code = wire.ErrCodeTooLarge
	}
	s.fatal(outcome{
		code:   ExitProtocolViolation,
		err:    fmt.Errorf("protocol violation by host: %w", err),
		notice: &wire.ErrorMsg{Code: code, Message: clip(err.Error())},
	})
}

// readFailed ends the session after the stream could not be read.
func (s *server) readFailed(err error) {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrFrameTooLarge):
		if s.hostGoodbye.Load() {
			// The host said goodbye and left: no ACK can come any more.
			s.abortNow()
			return
		}
		if err == io.EOF {
			err = errors.New("the host closed the connection (EOF)")
		}
		s.fatal(outcome{code: ExitConnectionLost, err: fmt.Errorf("host connection lost: %w", err)})
	default:
		s.violation(err)
	}
}

// hostError ends the session on the host's ERROR frame.
func (s *server) hostError(body []byte) {
	var m wire.ErrorMsg
	if err := m.Decode(body); err != nil {
		s.violation(err)
		return
	}
	s.fatal(outcome{code: ExitConnectionLost, err: fmt.Errorf("host ended the session with an error: %w", &m)})
}
