// asio.hpp — the one include for Boost.Asio (+ SSL). Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, so include it first.
#pragma once
#include <utility>  // own block: include sorting must keep it before Boost

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace sitemail {
namespace asio = boost::asio;
using asio::ip::tcp;
}  // namespace sitemail
