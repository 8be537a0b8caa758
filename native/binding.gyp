{
  "targets": [
    {
      "target_name": "glimpse_blas",
      "sources": ["gemm.c", "elementwise.c", "conv.c"],
      "cflags": ["-O3", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas"]
    }
  ]
}
