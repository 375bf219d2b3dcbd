# A function that returns 7, exported from a shared object.
        .text
        .globl  stub
        .type   stub, @function
stub:
        lghi    %r2, 7
        br      %r14
