#include "protocol/admin/admin_server.h"

#include <httplib.h>

#include <fmt/format.h>

#include "common/log.h"

namespace sluice::admin {
namespace {

// Scrapes and probes are light; two threads keep a slow scrape from delaying a probe.
constexpr size_t kThreads = 2;

}  // namespace

AdminServer::AdminServer(HostPort listen, const metrics::Registry& metrics, NotReadyReason not_ready)
    : listen_(std::move(listen)), metrics_(metrics), not_ready_(std::move(not_ready)) {}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::AddJsonRoute(std::string path, std::function<std::string()> body) {
  json_routes_.emplace_back(std::move(path), std::move(body));
}

absl::Status AdminServer::Start() {
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    const std::string reason = not_ready_();
    if (reason.empty()) return response.set_content("ready\n", "text/plain");
    response.status = 503;
    response.set_content(reason + "\n", "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.Render(), "text/plain; version=0.0.4");
  });
  for (const auto& [path, body] : json_routes_) {
    server_->Get(path, [body = body](const httplib::Request&, httplib::Response& response) {
      response.set_content(body(), "application/json");
    });
  }
  if (listen_.port == 0) {
    const int port = server_->bind_to_any_port(listen_.host);
    if (port <= 0) return absl::UnavailableError(fmt::format("admin listener: cannot bind {}", listen_.host));
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_->bind_to_port(listen_.host, listen_.port)) {
      return absl::UnavailableError(fmt::format("admin listener: cannot bind {}:{}", listen_.host, listen_.port));
    }
    port_ = listen_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  log::Info("admin: listening on http://{}:{}", listen_.host, port_);
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace sluice::admin
