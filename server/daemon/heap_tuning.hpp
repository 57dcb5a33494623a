// heap_tuning.hpp — how sitemaild's malloc treats the buffers large mail passes through.
#pragma once

namespace sitemail {

// Called once at the start of the daemon, before its threads. Large mail (CONTRACT §8)
// passes through buffers of 228-320 KiB (a content slice, libpq's result, its base64
// lines), one set per slice. glibc's malloc would map and unmap such buffers, or trim the
// heap under them, on every slice: a page fault on every page, every time, and on a
// virtual machine that was half of the daemon's CPU (issue 15 benchmark,
// docs/attachments.md). Kept in the heap, they are reused. Does nothing where the C
// library is not glibc.
void keep_large_buffers_in_heap();

}  // namespace sitemail
