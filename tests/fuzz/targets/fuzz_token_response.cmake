# The OAuth token-response parser (pure: nlohmann-json, no network) for fuzz_token_response.
find_package(nlohmann_json 3 REQUIRED)
target_sources(sitemail_fuzz_parsers PRIVATE ${PROJECT_SOURCE_DIR}/server/oauth/token_response.cpp)
target_include_directories(sitemail_fuzz_parsers PUBLIC ${PROJECT_SOURCE_DIR}/server/oauth)
target_link_libraries(sitemail_fuzz_parsers PUBLIC nlohmann_json::nlohmann_json)
