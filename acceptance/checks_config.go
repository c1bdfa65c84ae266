package acceptance

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/wire"
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

// checkConfigValid: the valid configuration is accepted by the reference
// host's SETUP and OPEN, and the plugin then ends cleanly on its GOODBYE.
func checkConfigValid(t *checkRun) error {
	p, _, err := t.hostStart()
	if err != nil {
		return err
	}
	if err := p.Close(t.ctx); err != nil {
		return failf("a clean end after GOODBYE", "%v", err)
	}
	return nil
}

// scopes pairs each parameter list with whether it is global.
func (t *checkRun) scopes() []struct {
	params []wire.Param
	global bool
} {
	return []struct {
		params []wire.Param
		global bool
	}{{t.env.spec.Global, true}, {t.env.spec.Params, false}}
}

// checkConfigRequired: each required parameter, left out, is named.
func checkConfigRequired(t *checkRun) error {
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
func checkConfigRule(v wire.ValidationType) func(*checkRun) error {
	return func(t *checkRun) error {
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

func rule(p wire.Param, t wire.ValidationType) wire.Validation {
	for _, v := range p.Validations {
		if v.Type == t {
			return v
		}
	}
	return wire.Validation{}
}

// checkConfigWrongType: a value that does not parse as the parameter's
// type is named.
func checkConfigWrongType(t *checkRun) error {
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
func checkConfigUnknown(t *checkRun) error {
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

func requestName(global bool) wire.MsgType {
	if global {
		return wire.MsgSetup
	}
	return wire.MsgOpen
}

// rejectAll runs each case in a fresh plugin and expects it rejected with
// invalid_config and a problem naming the parameter.
func (t *checkRun) rejectAll(cases []badCase) error {
	for _, c := range cases {
		if err := t.reject(c); err != nil {
			return err
		}
	}
	return nil
}

func (t *checkRun) reject(c badCase) error {
	p, _, err := t.launchHost()
	if err != nil {
		return err
	}
	defer p.Kill()
	if c.global {
		err = p.Setup(t.ctx, c.cfg.global)
	} else if err = p.Setup(t.ctx, c.cfg.global); err != nil {
		return failf("SETUP with the valid global settings accepted", "%v", err)
	} else {
		_, err = t.hostOpen(p, c.cfg.instance)
	}
	typ := requestName(c.global)
	t.logf("%s with %s: %v", typ, c.what, err)
	re := requestError(err)
	if re == nil || re.Status != wire.StatusInvalidConfig || !slices.ContainsFunc(re.Problems, func(p wire.Problem) bool { return p.Param == c.param }) {
		got := "accepted"
		if err != nil {
			got = err.Error()
		}
		return failf(fmt.Sprintf("%s with %s rejected: invalid_config naming %q", typ, c.what, c.param), "%s", got)
	}
	return nil
}

// secretForms are ways to wrap a distinctive secret so it passes common
// validations (URL and e-mail patterns), tried in order.
var secretForms = []string{"%s", "https://%s.example.com", "http://localhost/%s", "%s@y.z"}

// checkConfigSecret: the value of a secret parameter never appears in a
// REPLY or on stderr, whether the configuration is accepted or rejected.
func checkConfigSecret(t *checkRun) error {
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

// secretCase configures a fresh plugin with c, ends it, and searches the
// answers and the whole stderr for secret.
func (t *checkRun) secretCase(what string, c config, secret string) error {
	p, log, err := t.launchHost()
	if err != nil {
		return err
	}
	err = p.Setup(t.ctx, c.global)
	if err == nil {
		_, err = t.hostOpen(p, c.instance)
	}
	if re := requestError(err); re != nil && strings.Contains(re.Error(), secret) {
		return failf("no secret value in a REPLY ("+what+")", "%v", re)
	}
	p.Close(t.ctx) // reaps the plugin: its stderr is all in log
	for _, l := range log.Lines() {
		if strings.Contains(l, secret) {
			return failf("no secret value on stderr ("+what+")", "stderr line %q", l)
		}
	}
	return nil
}
