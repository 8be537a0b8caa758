{
  "targets": [
    {
      "target_name": "glimpse_kernels",
      "sources": ["addon.c", "gemm.c", "elementwise.c", "optim.c", "attention.c", "conv.c", "threads.c", "gru.c", "recurrence.c", "decode_step.c", "cross_entropy.c"],
      "cflags": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas"]
    }
  ]
}
