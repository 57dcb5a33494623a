# fuzz_submission: the submission door's sans-io server dialogue and its policy rules.
target_sources(sitemail_fuzz_parsers PRIVATE ${PROJECT_SOURCE_DIR}/server/submission/dialogue.cpp
  ${PROJECT_SOURCE_DIR}/server/submission/policy.cpp)
target_include_directories(sitemail_fuzz_parsers PUBLIC ${PROJECT_SOURCE_DIR}/server/submission)
