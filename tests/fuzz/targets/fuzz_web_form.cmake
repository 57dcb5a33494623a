# The web console's form/query decoder and router (pure, server/web/) for fuzz_web_form.
target_sources(sitemail_fuzz_parsers PRIVATE ${PROJECT_SOURCE_DIR}/server/web/form.cpp ${PROJECT_SOURCE_DIR}/server/web/router.cpp
  ${PROJECT_SOURCE_DIR}/server/web/html.cpp)
target_include_directories(sitemail_fuzz_parsers PUBLIC ${PROJECT_SOURCE_DIR}/server/web)
