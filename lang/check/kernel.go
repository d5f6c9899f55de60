package check

import (
	"github.com/sockc/sockc/lang/diag"
	"github.com/sockc/sockc/lang/hook"
)

// MinKernel warns, at its hook, about each handler whose program needs a
// newer Linux release than min: the oldest kernel the user says the file
// must load on (sockc check/compile --min-kernel). The kernel would
// refuse the program there; sockc run would say so at load time, this
// says it when the file is written.
func MinKernel(p *Program, min hook.KernelVersion, errs *diag.Collector) {
	for _, h := range p.Handlers {
		need, feature, ok := h.Hook.Needs()
		if !ok || !min.Before(need) {
			continue
		}
		hint := ""
		if h.Hook == hook.SkbVerdict {
			hint = "on stream verdict works on every kernel sockc supports"
		}
		span := h.Decl.HookSpan
		errs.Add(diag.Warning, span.Pos(), span.End(), hint,
			"on %s needs Linux %s (%s), newer than the minimum kernel %s", h.Hook, need, feature, min)
	}
}
