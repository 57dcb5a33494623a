// main.cpp — the Boost.Test runner for sitemail's unit tests (no network, no database).
#define BOOST_TEST_MODULE sitemail_unit
#include <boost/test/unit_test.hpp>
