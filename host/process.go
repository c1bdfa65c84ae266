package host

import (
	"os"
	"os/exec"
	"time"

	"github.com/plugctl/plugctl/internal/linelog"
)

// stderrWait bounds the wait for a dead plugin's last stderr lines; a
// process the plugin started may hold the pipe open for ever.
const stderrWait = time.Second

// process is a launched plugin: the child, its reaper and its log.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the child is reaped
	state   *os.ProcessState
	endedAt time.Time // when it was reaped
	stderr  *linelog.Log
	errPipe *os.File // the host's end of the child's stderr
}

func newProcess(cmd *exec.Cmd, errPipe *os.File, log *linelog.Log) *process {
	pr := &process{cmd: cmd, exited: make(chan struct{}), stderr: log, errPipe: errPipe}
	go log.Follow(errPipe)
	go pr.reap()
	return pr
}

// reap waits for the child so that it never lingers as a zombie.
func (pr *process) reap() {
	pr.cmd.Wait()
	pr.state = pr.cmd.ProcessState // nil only if Wait itself failed
	pr.endedAt = time.Now()
	close(pr.exited)
}

// exitedFor is how long ago the child was reaped, 0 while it runs.
func (pr *process) exitedFor() time.Duration {
	select {
	case <-pr.exited:
		return time.Since(pr.endedAt)
	default:
		return 0
	}
}

// kill kills the plugin's process group, which outlives its leader while
// processes the plugin started remain in it.
func (pr *process) kill() {
	killPlugin(pr.cmd.Process)
}

// wait gives the child grace to exit, then kills it, reaps it and lets
// its last stderr lines arrive.
func (pr *process) wait(grace time.Duration) {
	t := time.NewTimer(grace)
	select {
	case <-pr.exited:
	case <-t.C:
		pr.kill()
		<-pr.exited
	}
	t.Stop()
	pr.stderr.Settle(stderrWait)
	pr.errPipe.Close()
	<-pr.stderr.Done()
}
