// heap_tuning.cpp — see heap_tuning.hpp.
#include "heap_tuning.hpp"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sitemail {

void keep_large_buffers_in_heap() {
#if defined(__GLIBC__)
  // mallopt(3): blocks up to 4 MiB come from the heap instead of their own mapping (the
  // default starts at 128 KiB), and up to 32 MiB of free memory at the top of a heap is kept
  // rather than handed back to the kernel at once. After a burst of large mail the daemon may
  // keep that much more resident; it is reused by the next one.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

}  // namespace sitemail
