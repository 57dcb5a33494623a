// content_reader.cpp — see content_reader.hpp.
#include "content_reader.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pg.hpp"

namespace sitemail {

struct ContentReader::Worker {
  std::string conninfo;
  asio::thread_pool pool;
  std::mutex mu;
  std::vector<std::unique_ptr<PgConn>> idle;  // under mu
  explicit Worker(int threads) : pool(static_cast<std::size_t>(threads)) {}

  struct Result {
    bool ok = false;
    smtp::Slice slice;  // the octets stay in libpq's result
    std::string error;
  };

  // A new connection with the two slice statements prepared (a slice is read thousands of
  // times per large message: parsed and planned once).
  std::unique_ptr<PgConn> connect() {
    auto c = std::make_unique<PgConn>(conninfo);
    const char* names[2] = {"sitemail_raw_slice", "sitemail_attachment_slice"};
    const char* sqls[2] = {"SELECT substring(raw_message FROM $2::int FOR $3::int) FROM outbox WHERE id = $1::bigint",
                           "SELECT substring(content FROM $2::int FOR $3::int) FROM outbox_attachment WHERE id = $1::bigint"};
    for (int i = 0; i < 2; ++i) {
      std::unique_ptr<PGresult, decltype(&PQclear)> res(PQprepare(c->raw(), names[i], sqls[i], 3, nullptr), PQclear);
      if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c->raw()));
    }
    // The backend builds each slice in three buffers of its size (the detoasted slice,
    // byteasend's copy, the DataRow message). Above 128 KiB glibc's malloc would map and
    // unmap them, or trim the heap under them, on every slice: page faults on all of it.
    // Its threshold rises to the size of a mapped block once that block is freed (the
    // dynamic threshold of mallopt(3)): one 1 MiB string made and dropped here keeps every
    // slice's buffers in the backend's heap. On a server whose malloc works otherwise this
    // costs one query and changes nothing else.
    std::unique_ptr<PGresult, decltype(&PQclear)> warm(PQexec(c->raw(), "SELECT length(repeat('x', 1048576))"), PQclear);
    if (PQresultStatus(warm.get()) != PGRES_TUPLES_OK) throw std::runtime_error(PQerrorMessage(c->raw()));
    return c;
  }

  // One slice, in binary (no hex doubling), on a pool thread. substring() on EXTERNAL
  // storage reads only the TOAST chunks it needs (sql/009).
  Result slice(const smtp::BlobRef& b, std::uint64_t offset, std::size_t max) {
    std::unique_ptr<PgConn> c;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        c = std::move(idle.back());
        idle.pop_back();
      }
    }
    Result r;
    try {
      if (!c) c = connect();
      const bool raw = b.table == smtp::BlobRef::Table::raw;
      const std::string id = std::to_string(b.id), from = std::to_string(offset + 1), len = std::to_string(max);
      const char* values[3] = {id.c_str(), from.c_str(), len.c_str()};
      std::shared_ptr<PGresult> res(
          PQexecPrepared(c->raw(), raw ? "sitemail_raw_slice" : "sitemail_attachment_slice", 3, values, nullptr, nullptr, 1),
          PQclear);
      if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        r.error = std::string("database: ") + PQerrorMessage(c->raw());
        while (!r.error.empty() && (r.error.back() == '\n' || r.error.back() == ' ')) r.error.pop_back();
        if (PQstatus(c->raw()) != CONNECTION_OK) c.reset();
      } else if (PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) {
        r.error = std::string(raw ? "the raw message of row " : "attachment ") + id + " is gone";
      } else {
        r.ok = true;
        r.slice.bytes = std::string_view(PQgetvalue(res.get(), 0, 0), static_cast<std::size_t>(PQgetlength(res.get(), 0, 0)));
        r.slice.owner = std::move(res);
      }
    } catch (const std::exception& e) {
      r.error = std::string("database: ") + e.what();
      c.reset();
    }
    if (c) {
      std::lock_guard<std::mutex> lock(mu);
      idle.push_back(std::move(c));
    }
    return r;
  }
};

int ContentReader::default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores / 2, 1U, 4U));
}

ContentReader::ContentReader(std::string conninfo, int threads) : w_(std::make_shared<Worker>(threads)) {
  w_->conninfo = std::move(conninfo);
}

ContentReader::~ContentReader() {
  w_->pool.join();
  w_->idle.clear();
}

asio::awaitable<std::optional<smtp::Slice>> ContentReader::read(const smtp::BlobRef& blob, std::uint64_t offset, std::size_t max,
                                                                std::string& error) {
  auto w = w_;
  auto home = co_await asio::this_coro::executor;
  // Not a coroutine lambda: the work runs on the pool, the result resumes us on `home`.
  auto op = asio::async_initiate<decltype(asio::use_awaitable), void(Worker::Result)>(
      [w, home, blob, offset, max](auto handler) mutable {
        asio::post(w->pool, [w, home, blob, offset, max, handler = std::move(handler)]() mutable {
          Worker::Result r = w->slice(blob, offset, max);
          asio::post(home, [handler = std::move(handler), r = std::move(r)]() mutable { handler(std::move(r)); });
        });
      },
      asio::use_awaitable);
  Worker::Result r = co_await std::move(op);
  if (!r.ok) {
    error = r.error;
    co_return std::nullopt;
  }
  co_return std::move(r.slice);
}

}  // namespace sitemail
