package acceptance

import (
	"fmt"
	"slices"

	"github.com/plugctl/plugctl/wire"
)

// secondConfig is instance 2's configuration: the user's for it when
// given (Options.InstanceSettings), else c with one string parameter at
// its default (a name, a path, a label) changed within its rules, the
// text with a "2" in it, so that a plugin mixing up its instances'
// configurations can show it. Nothing else changes: a number may be a
// limit where 0 means none, a duration may slow the instance down, a
// bool or an inclusion list is a switch, and a value the user set or an
// example may name something outside, such as an endpoint.
func (t *checkRun) secondConfig(c config) (config, error) {
	if t.env.secondErr != nil {
		return config{}, t.env.secondErr
	}
	if t.env.second != nil {
		t.logf("instance 2 has the configuration given for it")
		return t.env.second.clone(), nil
	}
	d := c.clone()
	for _, p := range t.env.spec.Params {
		cur := c.instance[p.Name]
		if p.Type != wire.TypeString || p.Secret || cur == "" || cur != p.Default || t.env.given[p.Name] || rule(p, wire.ValidationInclusion).Type != 0 {
			continue
		}
		if vs := nearby(p, cur); len(vs) > 0 {
			d.instance[p.Name] = vs[0]
			t.logf("instance 2 sets %q to %q, instance 1 has %q", p.Name, vs[0], cur)
			return d, nil
		}
	}
	t.logf("no string at its default can differ; both instances have the same configuration")
	return d, nil
}

// checkInstances: two instances of one process, configured differently,
// run at once: each one's events or results travel on its own instance,
// with positions of its own, and stopping one reports its own last
// position.
func checkInstances(t *checkRun) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return err
	}
	if err := t.setup(p, c); err != nil {
		return err
	}
	if err := t.open(p, 1, c, nil); err != nil {
		return err
	}
	c2, err := t.secondConfig(c)
	if err != nil {
		return err
	}
	if err := t.open(p, 2, c2, nil); err != nil {
		return err
	}
	if t.env.spec.Role == wire.RoleSink {
		return t.sinkInstances(p)
	}
	p.setAutoAck(1, true)
	p.setAutoAck(2, true)
	// Both at once: a plugin that sends one instance's events on the
	// other shows it as soon as positions on one instance go back.
	if err := p.waitFor(t.ctx, fmt.Sprintf("waiting for %d events on each of instances 1 and 2", fewEvents), func() bool {
		return len(p.events[1]) >= fewEvents && len(p.events[2]) >= fewEvents ||
			increasing(p.events[1]) != nil || increasing(p.events[2]) != nil
	}); err != nil {
		return err
	}
	for _, f := range p.frames() {
		if f.typ == wire.MsgEvents && f.inst != 1 && f.inst != 2 {
			return failf("EVENTS only on the open instances 1 and 2", "EVENTS on instance %d", f.inst)
		}
	}
	for _, inst := range []uint16{1, 2} {
		if err := increasing(p.eventsOn(inst)); err != nil {
			return failf(fmt.Sprintf("events of instance %d only on instance %d, positions increasing", inst, inst), "%v", err)
		}
		r, err := p.request(t.ctx, wire.MsgStop, inst, wire.Request{})
		if err != nil {
			return err
		}
		evs, _ := p.split(inst, r)
		last := evs[len(evs)-1].Position
		t.logf("instance %d: %d events, STOP %s", inst, len(evs), describeReply(r))
		if !r.HasPosition || r.Position != last {
			return failf(fmt.Sprintf("STOP of instance %d naming its own last position %d", inst, last), "REPLY %s", describeReply(r))
		}
	}
	return nil
}

// sinkInstances writes to both instances in turn, each from position 1,
// and expects every RESULT on the instance of its WRITE.
func (t *checkRun) sinkInstances(p *proc) error {
	h, err := p.hello(t.ctx)
	if err != nil {
		return err
	}
	for i := range uint64(3) {
		for _, inst := range []uint16{1, 2} {
			b, err := t.makeBatch(h, uint64(inst)*100+i, 1+i*batchEvents)
			if err != nil {
				return err
			}
			r, f, err := p.writeOnce(t, inst, b)
			if err != nil {
				return err
			}
			if f.inst != inst {
				return failf(fmt.Sprintf("the RESULT of batch %d on instance %d", b.id, inst), "on instance %d", f.inst)
			}
			if !slices.Contains([]wire.WriteStatus{wire.WriteOK, wire.WriteRetry}, r.Status) {
				return failf(fmt.Sprintf("RESULT ok for batch %d on instance %d", b.id, inst), "RESULT %s %q", r.Status, r.Message)
			}
		}
	}
	return nil
}
