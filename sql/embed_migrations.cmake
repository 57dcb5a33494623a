# embed_migrations.cmake — writes migrations.inc: every sql/NNN_*.sql as a raw string,
# so sitemailctl carries its schema and works from any directory.
file(GLOB files "${SQL_DIR}/[0-9][0-9][0-9]_*.sql")
list(SORT files)
set(out "// generated from sql/*.sql by sql/embed_migrations.cmake; do not edit\n")
foreach(f ${files})
  get_filename_component(name "${f}" NAME_WE)
  file(READ "${f}" body)
  string(SUBSTRING "${name}" 0 3 num)
  math(EXPR num "${num}")
  string(APPEND out "{${num}, \"${name}\", R\"sitemail_sql(${body})sitemail_sql\"},\n")
endforeach()
file(WRITE "${OUT}.tmp" "${out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
