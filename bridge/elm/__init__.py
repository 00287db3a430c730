"""ELM v3 credential model: course templates and completions in, conformant EDC credentials out.

Public entry points (see docs/architecture.md): ``template.CourseTemplate``, ``completion.Completion``,
``errors.ValidationFailed``, ``assemble.assemble`` / ``assemble.Issuer``,
``conformance.shacl_validate`` / ``conformance.ConformanceGuard`` and ``summary.summarise``.
"""
