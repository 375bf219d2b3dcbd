//! glibc's search rules (elf/dl-load.c `_dl_map_object`).
