package acceptance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/internal/regexsample"
	"github.com/plugctl/plugctl/wire"
)

// unknownParam is a parameter name no plugin declares.
const unknownParam = "plugctl_acceptance_unknown"

// cfgCase is one configuration a check sends, and the answer it expects:
// accepted, or rejected with invalid_config naming param.
type cfgCase struct {
	what   string // for reports, as `"port" = "0" (greater_than 0)`
	cfg    config
	global bool // the value probed is in SETUP's settings, not OPEN's
	param  string
	accept bool
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

// with returns base with p's value set to value.
func with(base config, global bool, p wire.Param, value string) config {
	c := base.clone()
	c.scope(global)[p.Name] = value
	return c
}

// checkConfigRequired: each required parameter, left out or sent empty
// (which is the same, PROTOCOL.md §4.7), is named.
func checkConfigRequired(t *checkRun) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var ps []cfgCase
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if required(p) {
				c := base.clone()
				delete(c.scope(sc.global), p.Name)
				ps = append(ps,
					cfgCase{what: fmt.Sprintf("%q left out", p.Name), cfg: c, global: sc.global, param: p.Name},
					cfgCase{what: fmt.Sprintf("%q = \"\" (empty, as if left out)", p.Name), cfg: with(base, sc.global, p, ""), global: sc.global, param: p.Name})
			}
		}
	}
	if len(ps) == 0 {
		return skipf("no parameter is required")
	}
	return t.probeAll(base, ps)
}

// checkConfigRule returns the check of rule v: for every parameter with
// it, values just beyond it (and, for a list, parts of its values) are
// rejected naming the parameter, and values just within it that every
// other rule allows are accepted.
func checkConfigRule(v wire.ValidationType) func(*checkRun) error {
	return func(t *checkRun) error {
		base, err := t.config()
		if err != nil {
			return err
		}
		var ps []cfgCase
		for _, sc := range t.scopes() {
			for _, p := range sc.params {
				r := rule(p, v)
				if r.Type == 0 {
					continue
				}
				reject, accept := ruleProbes(p, r, base.scope(sc.global)[p.Name])
				for i, values := range [][]string{reject, accept} {
					for _, value := range values {
						ps = append(ps, cfgCase{
							what: fmt.Sprintf("%q = %q (%s %s)", p.Name, value, v, describeValidation(r)),
							cfg:  with(base, sc.global, p, value), global: sc.global, param: p.Name, accept: i == 1,
						})
					}
				}
			}
		}
		if len(ps) == 0 {
			return skipf("no parameter has a %s validation", v)
		}
		return t.probeAll(base, ps)
	}
}

// checkConfigEdges: values at the edges of each parameter's type that its
// rules allow are accepted (edgeProbes lists them).
func checkConfigEdges(t *checkRun) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var ps []cfgCase
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			for _, value := range edgeProbes(p, base.scope(sc.global)[p.Name]) {
				what := fmt.Sprintf("%q = %q (%s", p.Name, value, p.Type)
				switch {
				case value == "" && p.Default != "":
					what += ", empty: its default"
				case value == "":
					what += ", empty: no value"
				case value == p.Default:
					what += ", its default"
				}
				ps = append(ps, cfgCase{what: what + ")", cfg: with(base, sc.global, p, value), global: sc.global, param: p.Name, accept: true})
			}
		}
	}
	if len(ps) == 0 {
		return skipf("the plugin has no parameter")
	}
	return t.probeAll(base, ps)
}

// checkConfigWrongType: a value that does not parse as the parameter's
// type is named.
func checkConfigWrongType(t *checkRun) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var ps []cfgCase
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if bad, ok := wrongType(p); ok {
				ps = append(ps, cfgCase{what: fmt.Sprintf("%q = %q (type %s)", p.Name, bad, p.Type), cfg: with(base, sc.global, p, bad), global: sc.global, param: p.Name})
			}
		}
	}
	if len(ps) == 0 {
		return skipf("every parameter is a string type, which takes any value")
	}
	return t.probeAll(base, ps)
}

// checkConfigUnknown: a parameter the spec does not declare, a typo most
// often, is named rather than ignored, in SETUP and in OPEN.
func checkConfigUnknown(t *checkRun) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	var ps []cfgCase
	for _, global := range []bool{true, false} {
		c := base.clone()
		c.scope(global)[unknownParam] = "x"
		ps = append(ps, cfgCase{what: fmt.Sprintf("unknown %q in %s", unknownParam, requestName(global)), cfg: c, global: global, param: unknownParam})
	}
	return t.probeAll(base, ps)
}

func requestName(global bool) wire.MsgType {
	if global {
		return wire.MsgSetup
	}
	return wire.MsgOpen
}

// prober sends probes to as few plugin processes as the protocol allows:
// a plugin stays usable after refusing a configuration, so one process
// takes SETUPs until one is accepted, and then OPENs one after another
// (each accepted instance is stopped and closed before the next).
type prober struct {
	t    *checkRun
	base config
	p    *host.Plugin
	// set is p's accepted SETUP: none yet, the base configuration's, or
	// another (a global probe's), after which OPEN probes need a fresh
	// process.
	set int
}

const (
	setNone = iota
	setBase
	setOther
)

// probeAll runs the probes in order, base being the valid configuration,
// and fails at the first answer other than the one expected.
func (t *checkRun) probeAll(base config, ps []cfgCase) error {
	pr := &prober{t: t, base: base}
	for _, c := range ps {
		if err := pr.run(c); err != nil {
			return err
		}
	}
	t.logf("every configuration answered as expected (%d)", len(ps))
	return nil
}

func (pr *prober) launch() error {
	if pr.p != nil {
		pr.p.Kill()
	}
	p, _, err := pr.t.launchHost()
	pr.p, pr.set = p, setNone
	return err
}

func (pr *prober) run(c cfgCase) error {
	t := pr.t
	typ := requestName(c.global)
	var err error
	if c.global {
		if pr.p == nil || pr.set != setNone {
			if err := pr.launch(); err != nil {
				return err
			}
		}
		if err = pr.p.Setup(t.ctx, c.cfg.global); err == nil {
			pr.set = setOther
		}
	} else {
		if pr.p == nil || pr.set == setOther {
			if err := pr.launch(); err != nil {
				return err
			}
		}
		if pr.set == setNone {
			if err := pr.p.Setup(t.ctx, pr.base.global); err != nil {
				return failf("SETUP with the valid global settings accepted", "%v", err)
			}
			pr.set = setBase
		}
		var in *hostInstance
		if in, err = t.hostOpen(pr.p, c.cfg.instance); err == nil {
			if err := in.close(t); err != nil {
				return failf(fmt.Sprintf("the instance opened with %s stopped and closed", c.what), "%v", err)
			}
		}
	}
	re := requestError(err)
	t.logf("%s with %s: %s", typ, c.what, answer(err))
	if err != nil && re == nil {
		return failf(fmt.Sprintf("an answer to %s with %s", typ, c.what), "%v", err)
	}
	if c.accept {
		if err != nil {
			return failf(fmt.Sprintf("%s with %s accepted", typ, c.what), "%s", answer(err))
		}
		return nil
	}
	if re == nil || re.Status != wire.StatusInvalidConfig || !slices.ContainsFunc(re.Problems, func(p wire.Problem) bool { return p.Param == c.param }) {
		return failf(fmt.Sprintf("%s with %s rejected: invalid_config naming %q", typ, c.what, c.param), "%s", answer(err))
	}
	return nil
}

// answer describes a request's outcome for reports.
func answer(err error) string {
	if err == nil {
		return "accepted"
	}
	return err.Error()
}

// close stops and closes an instance of either role.
func (in *hostInstance) close(t *checkRun) error {
	if in.sink != nil {
		return in.sink.Close(t.ctx)
	}
	return in.source.Close(t.ctx)
}

// secretForms are ways to wrap a distinctive secret so it passes common
// validations (URL and e-mail patterns), tried in order.
var secretForms = []string{"%s", "https://%s.example.com", "http://localhost/%s", "%s@y.z"}

// secretValue returns a value of the secret parameter p that passes its
// rules and that nothing else would write: token in one of secretForms,
// else a random match of its pattern with room for chance in it.
func secretValue(p wire.Param, token string) (string, bool) {
	for _, f := range secretForms {
		if v := fmt.Sprintf(f, token); len(problems(p, v)) == 0 {
			return v, true
		}
	}
	rules, err := wire.ParseRules(p)
	if err != nil {
		return "", false
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for _, r := range rules.List {
		if r.Type != wire.ValidationRegex {
			continue
		}
		for range 4 {
			a, okA := regexsample.Random(r.Regexp, rnd, 16)
			if !okA {
				continue
			}
			// A pattern open at one end (^ghp_, tok) takes the token
			// beside its match: distinctive however little it fixes.
			for _, v := range []string{a + token, token + a} {
				if len(problems(p, v)) == 0 {
					return v, true
				}
			}
			b, okB := regexsample.Random(r.Regexp, rnd, 16)
			if okB && a != b && len(a) >= 8 && len(problems(p, a)) == 0 {
				return a, true
			}
		}
	}
	return "", false
}

// checkConfigSecret: the value of a secret parameter never appears in a
// REPLY or on stderr, whether the configuration is accepted (the secrets
// sent with values that pass their rules) or rejected.
func checkConfigSecret(t *checkRun) error {
	base, err := t.config()
	if err != nil {
		return err
	}
	token := "s3cr3t-" + newUUID()[:8]
	valid, raw := base.clone(), base.clone()
	var params, secrets []string
	var missing []wire.Param
	for _, sc := range t.scopes() {
		for _, p := range sc.params {
			if !p.Secret {
				continue
			}
			params = append(params, p.Name)
			raw.scope(sc.global)[p.Name] = token
			v, ok := secretValue(p, token)
			if given := base.scope(sc.global)[p.Name]; !ok && t.env.given[p.Name] && given != "" {
				v, ok = given, true // the user's own, which must not leak either
			}
			if !ok {
				missing = append(missing, p)
				continue
			}
			valid.scope(sc.global)[p.Name] = v
			secrets = append(secrets, v)
		}
	}
	if len(params) == 0 {
		return skipf("no parameter is secret")
	}
	if len(missing) > 0 {
		return needf(missing, "no value of secret %s found that passes its validations and is distinctive enough to search for", paramList(missing))
	}
	// The raw secret may break the parameter's own rules; the unknown
	// parameter makes sure the plugin writes an error message either way.
	raw.instance[unknownParam] = "x"
	for _, c := range []struct {
		what    string
		cfg     config
		secrets []string
	}{{"valid configuration", valid, secrets}, {"invalid configuration", raw, []string{token}}} {
		if err := t.secretCase(c.what, c.cfg, c.secrets); err != nil {
			return err
		}
	}
	t.logf("secret parameters %v: their values found nowhere", params)
	return nil
}

// secretCase configures a fresh plugin with c, ends it, and searches the
// answers and the whole stderr for the secrets.
func (t *checkRun) secretCase(what string, c config, secrets []string) error {
	p, log, err := t.launchHost()
	if err != nil {
		return err
	}
	err = p.Setup(t.ctx, c.global)
	if err == nil {
		_, err = t.hostOpen(p, c.instance)
	}
	t.logf("SETUP and OPEN with the %s: %s", what, redactErr(err, secrets))
	p.Close(t.ctx) // reaps the plugin: its stderr is all in log
	for _, s := range secrets {
		if re := requestError(err); re != nil && strings.Contains(re.Error(), s) {
			return failf("no secret value in a REPLY ("+what+")", "%s", redactErr(re, secrets))
		}
		for _, l := range log.Lines() {
			if strings.Contains(l, s) {
				return failf("no secret value on stderr ("+what+")", "stderr line %q", strings.ReplaceAll(l, s, "<secret>"))
			}
		}
	}
	return nil
}

// redactErr describes err with the secrets in it hidden.
func redactErr(err error, secrets []string) string {
	s := answer(err)
	for _, x := range secrets {
		s = strings.ReplaceAll(s, x, "<secret>")
	}
	return s
}
