{
  "targets": [
    {
      "target_name": "glimpse_blas",
      "sources": ["gemm.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas"]
    }
  ]
}
