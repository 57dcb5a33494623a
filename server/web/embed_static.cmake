# embed_static.cmake — writes static_files.inc: the console's CSS and JavaScript as raw
# strings, so sitemaild serves them from the binary (no files to install or find).
file(READ "${STATIC_DIR}/console.css" css)
file(READ "${STATIC_DIR}/console.js" js)
set(out "// generated from server/web/static/ by embed_static.cmake; do not edit\n")
string(APPEND out "inline constexpr const char* kConsoleCss = R\"sitemail_static(${css})sitemail_static\";\n")
string(APPEND out "inline constexpr const char* kConsoleJs = R\"sitemail_static(${js})sitemail_static\";\n")
file(WRITE "${OUT}.tmp" "${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
