package acceptance

import (
	"fmt"
	"strings"

	"github.com/plugctl/plugctl/runtime"
)

// unknownParam is a parameter name no plugin declares.
const unknownParam = "plugctl_acceptance_unknown"

// badCase is one invalid configuration and the parameter the plugin must
// name when it rejects it.
type badCase struct {
	what   string // for reports, as `"port" = "0" (greater_than 0)`
	cfg    config
	global bool // the bad value is in SETUP's settings, not OPEN's
	param  string
}

// checkConfigValid: the valid configuration is accepted.
func checkConfigValid(t *T) error {
	_, err := t.startOpen()
	return err
}

// scopes pairs each parameter list with whether it is global.
func (t *T) scopes() []struct {
	params []runtime.Param
	global bool
} {
	return []struct {
		params []runtime.Param
		global bool
	}{{t.env.spec.Global, true}, {t.env.spec.Params, false}}
}

// checkConfigRequired: each required parameter, left out, is named.
func checkConfigRequired(t *T) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var cases []badCase
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if required(p) {
				c := base.clone()
				delete(c.scope(sc.global), p.Name)
				cases = append(cases, badCase{fmt.Sprintf("%q left out", p.Name), c, sc.global, p.Name})
			}
		}
	}
	if len(cases) == 0 {
		return skipf("no parameter is required")
	}
	return t.rejectAll(cases)
}

// checkConfigRule returns the check that every parameter with a rule of
// type v rejects a value breaking it.
func checkConfigRule(v runtime.ValidationType) func(*T) error {
	return func(t *T) error {
		base, err := t.config()
		if err != nil {
			return err
		}
		var cases []badCase
		for _, sc := range t.scopes() {
			for _, p := range sc.params {
				bad, ok := violation(p, v)
				if !ok {
					continue
				}
				c := base.clone()
				c.scope(sc.global)[p.Name] = bad
				cases = append(cases, badCase{fmt.Sprintf("%q = %q (%s %s)", p.Name, bad, v, describeValidation(rule(p, v))), c, sc.global, p.Name})
			}
		}
		if len(cases) == 0 {
			return skipf("no parameter has a %s validation", v)
		}
		return t.rejectAll(cases)
	}
}

func rule(p runtime.Param, t runtime.ValidationType) runtime.Validation {
	for _, v := range p.Validations {
		if v.Type == t {
			return v
		}
	}
	return runtime.Validation{}
}

// checkConfigWrongType: a value that does not parse as the parameter's
// type is named.
func checkConfigWrongType(t *T) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var cases []badCase
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if bad, ok := wrongType(p); ok {
				c := base.clone()
				c.scope(sc.global)[p.Name] = bad
				cases = append(cases, badCase{fmt.Sprintf("%q = %q (type %s)", p.Name, bad, p.Type), c, sc.global, p.Name})
			}
		}
	}
	if len(cases) == 0 {
		return skipf("every parameter is a string type, which takes any value")
	}
	return t.rejectAll(cases)
}

// checkConfigUnknown: a parameter the spec does not declare, a typo most
// often, is named rather than ignored, in SETUP and in OPEN.
func checkConfigUnknown(t *T) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var cases []badCase
	for _, global := range []bool{true, false} {
		c := base.clone()
		c.scope(global)[unknownParam] = "x"
		cases = append(cases, badCase{fmt.Sprintf("unknown %q in %s", unknownParam, requestName(global)), c, global, unknownParam})
	}
	return t.rejectAll(cases)
}

func requestName(global bool) runtime.MsgType {
	if global {
		return runtime.MsgSetup
	}
	return runtime.MsgOpen
}

// rejectAll runs each case in a fresh plugin and expects it rejected with
// invalid_config and a problem naming the parameter.
func (t *T) rejectAll(cases []badCase) error {
	for _, c := range cases {
		if err := t.reject(c); err != nil {
			return err
		}
	}
	return nil
}

func (t *T) reject(c badCase) error {
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return err
	}
	defer p.kill()
	if !c.global {
		if err := t.setup(p, c.cfg); err != nil {
			return err
		}
	}
	typ, inst := requestName(c.global), uint16(1)
	if c.global {
		inst = 0 // SETUP is process-scoped
	}
	r, err := p.request(t.ctx, typ, inst, runtime.Request{Settings: c.cfg.scope(c.global)})
	if err != nil {
		return err
	}
	t.logf("%s with %s: %s", typ, c.what, describeReply(r))
	if r.Status != runtime.StatusInvalidConfig || !names(r, c.param) {
		return failf(fmt.Sprintf("%s with %s rejected: REPLY invalid_config naming %q", typ, c.what, c.param), "REPLY %s", describeReply(r))
	}
	return nil
}

// names reports whether a REPLY has a problem for param.
func names(r *runtime.Reply, param string) bool {
	for _, p := range r.Problems {
		if p.Param == param {
			return true
		}
	}
	return false
}

// secretForms are ways to wrap a distinctive secret so it passes common
// validations (URL and e-mail patterns), tried in order.
var secretForms = []string{"%s", "https://%s.example.com", "http://localhost/%s", "%s@y.z"}

// checkConfigSecret: the value of a secret parameter never appears in a
// REPLY or on stderr, whether the configuration is accepted or rejected.
func checkConfigSecret(t *T) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	secret := "s3cr3t-" + newUUID()[:8]
	valid, raw := base.clone(), base.clone()
	var secretParams []string
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if !p.Secret {
				continue
			}
			secretParams = append(secretParams, p.Name)
			raw.scope(sc.global)[p.Name] = secret
			for _, f := range secretForms {
				if v := fmt.Sprintf(f, secret); len(problems(p, v)) == 0 {
					valid.scope(sc.global)[p.Name] = v
					break
				}
			}
		}
	}
	if len(secretParams) == 0 {
		return skipf("no parameter is secret")
	}
	// The raw secret may break the parameter's own rules; the unknown
	// parameter makes sure the plugin writes an error message either way.
	raw.instance[unknownParam] = "x"
	for _, c := range []struct {
		what string
		cfg  config
	}{{"valid configuration", valid}, {"invalid configuration", raw}} {
		if err := t.secretCase(c.what, c.cfg, secret); err != nil {
			return err
		}
	}
	t.logf("secret parameters %v: %q found nowhere", secretParams, secret)
	return nil
}

// secretCase configures a fresh plugin with c, ends it, and searches every
// REPLY and the whole stderr for secret.
func (t *T) secretCase(what string, c config, secret string) error {
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return err
	}
	defer p.kill()
	r, err := p.request(t.ctx, runtime.MsgSetup, 0, runtime.Request{Settings: c.global})
	if err != nil {
		return err
	}
	if r.Status == runtime.StatusOK {
		if _, err := p.request(t.ctx, runtime.MsgOpen, 1, runtime.Request{Settings: c.instance}); err != nil {
			return err
		}
	}
	p.goodbye(t.ctx, exitBound)
	p.stderr.settle(exitBound)
	for _, f := range p.frames() {
		if r, ok := f.msg.(*runtime.Reply); ok && strings.Contains(describeReply(r), secret) {
			return failf("no secret value in REPLY ("+what+")", "REPLY %s", describeReply(r))
		}
	}
	for _, l := range p.stderr.all() {
		if strings.Contains(l, secret) {
			return failf("no secret value on stderr ("+what+")", "stderr line %q", l)
		}
	}
	return nil
}
