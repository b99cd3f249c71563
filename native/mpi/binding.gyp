{
  # Include and link flags come from the MPI compiler wrapper (`mpicc --showme:*`), so any MPI whose wrapper
  # speaks OpenMPI's --showme (OpenMPI; MPICH has -compile-info/-link-info: set MPI_CFLAGS/MPI_LIBS instead).
  "variables": {
    "mpi_incdirs": "<!(sh -c 'if [ -n \"$MPI_INCDIRS\" ]; then echo \"$MPI_INCDIRS\"; else mpicc --showme:incdirs; fi')",
    "mpi_libdirs": "<!(sh -c 'if [ -n \"$MPI_LIBDIRS\" ]; then echo \"$MPI_LIBDIRS\"; else mpicc --showme:libdirs; fi')",
    "mpi_libs": "<!(sh -c 'if [ -n \"$MPI_LIBS\" ]; then echo \"$MPI_LIBS\"; else mpicc --showme:libs | sed \"s/\\([^ ]*\\)/-l\\1/g\"; fi')"
  },
  "targets": [
    {
      "target_name": "metavec_mpi",
      "sources": ["src/binding.cc"],
      "defines": ["OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"],
      "include_dirs": ["<!@(sh -c 'echo <(mpi_incdirs)')"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": [
        "<!@(sh -c 'for d in <(mpi_libdirs); do printf -- \"-L%s -Wl,-rpath,%s \" \"$d\" \"$d\"; done')",
        "<!@(sh -c 'echo <(mpi_libs)')"
      ]
    }
  ]
}
