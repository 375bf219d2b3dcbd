# Entry point that calls into libstub (never run; only its headers matter).
        .text
        .globl  _start
_start:
        brasl   %r14, stub@PLT
        j       _start
