// What the kernel charges a mixer thread per RTP-sized UDP packet on loopback, by I/O method:
// sendto / send on a connected socket / io_uring SENDMSG and SEND / a raw socket with sendmmsg
// (s*), and epoll + recvmmsg / recvmmsg or recvfrom on every socket / io_uring multishot recvmsg
// with a provided-buffer ring (r*), r4 both on one ring. N sockets, one packet each per "tick",
// mixer thread pinned to CPU0, peer (generator) thread to CPU1; the figure is the mixer thread's
// CLOCK_THREAD_CPUTIME_ID per packet, which on loopback includes delivering into the peer's
// socket. Standalone (no project code): tests/bench/udp_io.sh builds and runs it.
//   bench_udp_io [--rt] --mode s1|s2|s3msg|s3send|s4raw|s4udp|r1|r2mm|r2rf|r3|r4 [--fixed]
//                [--defer] [--skipcqe] [--live] [--csum] [--conn] --n N --ticks T --warm W
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/futex.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

static constexpr int PKT = 172;
static constexpr int MIX_BASE = 20000;
static constexpr int GEN_BASE = 30000;

struct Opt {
  std::string mode = "s1";
  int n = 500;
  int ticks = 200;
  int warm = 20;
  bool fixed = false;    // io_uring registered files
  bool defer = false;    // IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN
  bool skipcqe = false;  // IOSQE_CQE_SKIP_SUCCESS on sends
  bool live = false;     // receive: mixer waits in its own primitive while generator sends
  bool csum = false;     // raw: compute UDP checksum
  bool conn = false;     // r4: connected sockets + IORING_OP_SEND
  int maxev = 256;
  bool rt = false;       // SCHED_FIFO for mixer+generator (reduces interference from other load)
} O;

static int N;
static std::vector<int> mixfd, genfd;
static std::vector<sockaddr_in> mixaddr, genaddr;
static std::atomic<uint32_t> a_sent{0}, a_done{0};
static long errors = 0, gen_errors = 0, rearms = 0;
static double mix_cpu = 0, gen_cpu = 0, proc_cpu = 0;
static pthread_barrier_t bar;

static double tcpu(clockid_t c = CLOCK_THREAD_CPUTIME_ID) {
  timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;  // microseconds
}
static void die(const char* what) {
  fprintf(stderr, "FAIL %s: %s (errno %d)\n", what, strerror(errno), errno);
  printf("RESULT mode=%s FAILED %s errno=%d(%s)\n", O.mode.c_str(), what, errno, strerror(errno));
  exit(1);
}
static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (pthread_setaffinity_np(pthread_self(), sizeof s, &s)) die("setaffinity");
  if (O.rt) {
    sched_param sp{};
    sp.sched_priority = 10;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp)) die("SCHED_FIFO");
  }
}
static void post(std::atomic<uint32_t>& a, uint32_t v) {
  a.store(v, std::memory_order_release);
  syscall(SYS_futex, &a, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
static void wait_ge(std::atomic<uint32_t>& a, uint32_t v) {
  for (;;) {
    uint32_t c = a.load(std::memory_order_acquire);
    if ((int32_t)(c - v) >= 0) return;
    syscall(SYS_futex, &a, FUTEX_WAIT_PRIVATE, c, nullptr, nullptr, 0);
  }
}
static sockaddr_in mk(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static bool is_send() { return O.mode[0] == 's' || O.mode == "noop"; }

// ---------------- io_uring helpers ----------------
static io_uring ring;
static void ring_init(unsigned cq) {
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = cq;
  if (O.defer) p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int r = io_uring_queue_init_params(4096, &ring, &p);
  if (r < 0) { errno = -r; die("io_uring_queue_init_params"); }
  if (O.fixed) {
    r = io_uring_register_files(&ring, mixfd.data(), N);
    if (r < 0) { errno = -r; die("io_uring_register_files"); }
  }
}
static void set_fd(io_uring_sqe* sqe, int i) {
  if (O.fixed) { sqe->fd = i; sqe->flags |= IOSQE_FIXED_FILE; }
}

// provided buffer ring for multishot recvmsg
static constexpr unsigned BR_ENTRIES = 8192, BUFSZ = 2048;
static io_uring_buf_ring* br;
static char* bufs;
static msghdr rmh;
static void br_init() {
  size_t sz = BR_ENTRIES * sizeof(io_uring_buf);
  br = (io_uring_buf_ring*)mmap(nullptr, sz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED) die("mmap br");
  bufs = (char*)mmap(nullptr, (size_t)BR_ENTRIES * BUFSZ, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  io_uring_buf_reg reg{};
  reg.ring_addr = (unsigned long)br;
  reg.ring_entries = BR_ENTRIES;
  reg.bgid = 0;
  int r = io_uring_register_buf_ring(&ring, &reg, 0);
  if (r < 0) { errno = -r; die("io_uring_register_buf_ring"); }
  io_uring_buf_ring_init(br);
  int mask = io_uring_buf_ring_mask(BR_ENTRIES);
  for (unsigned i = 0; i < BR_ENTRIES; i++) io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, mask, i);
  io_uring_buf_ring_advance(br, BR_ENTRIES);
  memset(&rmh, 0, sizeof rmh);
  rmh.msg_namelen = sizeof(sockaddr_in);
}
static void arm_recv(int i) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) { io_uring_submit(&ring); sqe = io_uring_get_sqe(&ring); }
  io_uring_prep_recvmsg_multishot(sqe, mixfd[i], &rmh, 0);
  set_fd(sqe, i);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, (uint64_t)i);
}
// handle one recv CQE; returns 1 if it was a packet. Adds buffer back (caller advances).
static std::vector<msghdr> smh;  // per-socket sendmsg headers (reply path)
static std::vector<sockaddr_in> replyto;
static std::vector<iovec> siov;
static char sbuf[PKT];
static std::atomic<unsigned> sink;
static int handle_recv_cqe(io_uring_cqe* cqe, int& nbuf, bool reply) {
  uint64_t ud = cqe->user_data;
  int i = (int)(ud & 0xffffffff);
  if (ud >> 32) {  // send completion (only when not skipping)
    if (cqe->res != PKT) errors++;
    return 0;
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) {  // multishot terminated: re-arm
    rearms++;
    arm_recv(i);
  }
  if (cqe->res < 0) { if (cqe->res != -ENOBUFS) errors++; return 0; }
  if (!(cqe->flags & IORING_CQE_F_BUFFER)) { errors++; return 0; }
  unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
  char* b = bufs + (size_t)bid * BUFSZ;
  io_uring_recvmsg_out* o = io_uring_recvmsg_validate(b, cqe->res, &rmh);
  int ok = 0;
  if (o) {
    sockaddr_in* src = (sockaddr_in*)io_uring_recvmsg_name(o);
    unsigned len = io_uring_recvmsg_payload_length(o, cqe->res, &rmh);
    sink += ((unsigned char*)io_uring_recvmsg_payload(o, &rmh))[0];
    if (o->namelen < sizeof(sockaddr_in) || ntohs(src->sin_port) != GEN_BASE + i || len != PKT) errors++;
    else ok = 1;
    if (reply) {
      replyto[i] = *src;
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (O.conn) io_uring_prep_send(sqe, mixfd[i], sbuf, PKT, 0);
      else io_uring_prep_sendmsg(sqe, mixfd[i], &smh[i], 0);
      set_fd(sqe, i);
      if (O.skipcqe) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, (1ull << 32) | (unsigned)i);
    }
  } else errors++;
  io_uring_buf_ring_add(br, b, BUFSZ, bid, io_uring_buf_ring_mask(BR_ENTRIES), nbuf++);
  return ok;
}

// ---------------- raw socket ----------------
static uint16_t csum16(const void* d, size_t len, uint32_t sum) {
  const uint16_t* p = (const uint16_t*)d;
  while (len > 1) { sum += *p++; len -= 2; }
  if (len) sum += *(const uint8_t*)p;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

// ---------------- generator ----------------
static void* gen_main(void*) {
  pin(1);
  char pkt[PKT];
  memset(pkt, 0x55, PKT);
  char rb[2048];
  pthread_barrier_wait(&bar);
  double c0 = 0;
  int total = O.ticks + O.warm;
  if (is_send()) {
    for (int t = 0; t < total; t++) {
      if (t == O.warm) c0 = tcpu();
      wait_ge(a_sent, t + 1);
      if (O.mode == "noop") { post(a_done, t + 1); continue; }
      std::vector<char> got(N, 0);
      int cnt = 0, passes = 0;
      while (cnt < N) {
        for (int i = 0; i < N; i++) {
          if (got[i]) continue;
          sockaddr_in src;
          socklen_t sl = sizeof src;
          ssize_t r = recvfrom(genfd[i], rb, sizeof rb, MSG_DONTWAIT, (sockaddr*)&src, &sl);
          if (r < 0) continue;
          got[i] = 1;
          cnt++;
          if (r != PKT || ntohs(src.sin_port) != (O.mode == "s5mm" ? MIX_BASE : MIX_BASE + i)) gen_errors++;
        }
        if (++passes > 100000) { fprintf(stderr, "gen: stuck at %d/%d tick %d\n", cnt, N, t); exit(2); }
      }
      post(a_done, t + 1);
    }
  } else if (O.mode == "r4") {
    // combined: each tick send N, then drain the N replies of previous tick (spinning).
    for (int t = 0; t <= total; t++) {
      if (t == O.warm) c0 = tcpu();
      if (t < total) {
        wait_ge(a_sent, t + 1);  // 'go' from mixer
        for (int i = 0; i < N; i++)
          if (sendto(genfd[i], pkt, PKT, 0, (sockaddr*)&mixaddr[i], sizeof(sockaddr_in)) != PKT) gen_errors++;
      }
      if (t == 0) continue;
      int cnt = 0;
      std::vector<char> got(N, 0);
      long spins = 0;
      while (cnt < N) {
        for (int i = 0; i < N; i++) {
          if (got[i]) continue;
          sockaddr_in src;
          socklen_t sl = sizeof src;
          ssize_t r = recvfrom(genfd[i], rb, sizeof rb, MSG_DONTWAIT, (sockaddr*)&src, &sl);
          if (r < 0) continue;
          got[i] = 1;
          cnt++;
          if (r != PKT || ntohs(src.sin_port) != MIX_BASE + i) gen_errors++;
        }
        if (++spins > 2000000) { fprintf(stderr, "gen r4: stuck %d/%d\n", cnt, N); exit(2); }
      }
    }
  } else {
    for (int t = 0; t < total; t++) {
      if (t == O.warm) c0 = tcpu();
      wait_ge(a_done, t);  // mixer finished previous tick (or posted 'go' in live mode)
      const bool shared = O.mode == "r5mm";  // every phone sends to the one shared port
      for (int i = 0; i < N; i++)
        if (sendto(genfd[i], pkt, PKT, 0, (sockaddr*)&mixaddr[shared ? 0 : i], sizeof(sockaddr_in)) != PKT) gen_errors++;
      post(a_sent, t + 1);
    }
  }
  gen_cpu = tcpu() - c0;
  return nullptr;
}

// ---------------- mixer ----------------
static void* mix_main(void*) {
  pin(0);
  const std::string& m = O.mode;
  char pkt[PKT];
  memset(pkt, 0xaa, PKT);
  // per-mode setup
  std::vector<msghdr> mh;
  std::vector<iovec> iov;
  int rawfd = -1;
  std::vector<char> rawbuf;
  std::vector<mmsghdr> mm;
  int ep = -1;
  std::vector<epoll_event> evs;
  mmsghdr rmm[4];
  iovec riov[4];
  sockaddr_in rsrc[4];
  static char rbuf[4][2048];
  for (int k = 0; k < 4; k++) {
    riov[k] = {rbuf[k], sizeof rbuf[k]};
    memset(&rmm[k], 0, sizeof rmm[k]);
    rmm[k].msg_hdr.msg_iov = &riov[k];
    rmm[k].msg_hdr.msg_iovlen = 1;
    rmm[k].msg_hdr.msg_name = &rsrc[k];
  }
  bool uring = m.rfind("s3", 0) == 0 || m == "r3" || m == "r4";
  if (uring) ring_init(m == "r4" ? 16384 : 8192);
  if (m == "s3msg" || m == "r4") {
    mh.resize(N);
    iov.resize(N);
    for (int i = 0; i < N; i++) {
      iov[i] = {pkt, PKT};
      memset(&mh[i], 0, sizeof(msghdr));
      mh[i].msg_name = &genaddr[i];
      mh[i].msg_namelen = sizeof(sockaddr_in);
      mh[i].msg_iov = &iov[i];
      mh[i].msg_iovlen = 1;
    }
  }
  if (m == "r4") {
    smh.resize(N); replyto.resize(N); siov.resize(N);
    for (int i = 0; i < N; i++) {
      siov[i] = {sbuf, PKT};
      memset(&smh[i], 0, sizeof(msghdr));
      smh[i].msg_name = &replyto[i];
      smh[i].msg_namelen = sizeof(sockaddr_in);
      smh[i].msg_iov = &siov[i];
      smh[i].msg_iovlen = 1;
    }
  }
  if (m == "s4raw" || m == "s4udp") {
    if (m == "s4raw") {
      rawfd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // send-only, implies IP_HDRINCL
      if (rawfd < 0) die("socket(SOCK_RAW,IPPROTO_RAW)");
    } else {
      rawfd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
      if (rawfd < 0) die("socket(SOCK_RAW,IPPROTO_UDP)");
      int one = 1;
      if (setsockopt(rawfd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one)) die("IP_HDRINCL");
    }
    rawbuf.assign((size_t)N * 256, 0);
    mm.resize(N);
    iov.resize(N);
    for (int i = 0; i < N; i++) {
      iov[i] = {&rawbuf[(size_t)i * 256], sizeof(iphdr) + sizeof(udphdr) + PKT};
      memset(&mm[i], 0, sizeof(mmsghdr));
      mm[i].msg_hdr.msg_name = &genaddr[i];  // port ignored by raw sockets
      mm[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
  }
  // Shared port: one socket for every participant, batches of 64 each way, demultiplexed by the
  // source address (a hash lookup, as a real mixer would before checking the SSRC).
  std::unordered_map<uint64_t, int> bySource;
  std::vector<mmsghdr> smm;
  std::vector<iovec> sio;
  std::vector<sockaddr_in> ssrc;
  std::vector<std::array<char, 2048>> sbufs;
  if (m == "s5mm" || m == "r5mm") {
    int big = 16 << 20;
    setsockopt(mixfd[0], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(mixfd[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    smm.resize(64);
    sio.resize(64);
    ssrc.resize(64);
    sbufs.resize(64);
    for (int i = 0; i < N; i++)
      bySource[(uint64_t)ntohl(genaddr[i].sin_addr.s_addr) << 16 | ntohs(genaddr[i].sin_port)] = i;
  }
  if (m == "r1") {
    ep = epoll_create1(0);
    for (int i = 0; i < N; i++) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u32 = i;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, mixfd[i], &e)) die("epoll_ctl");
    }
    evs.resize(O.maxev);
  }
  if (m == "r3" || m == "r4") {
    br_init();
    for (int i = 0; i < N; i++) arm_recv(i);
    int r = io_uring_submit(&ring);
    if (r < 0) { errno = -r; die("submit arm"); }
  }

  pthread_barrier_wait(&bar);
  int total = O.ticks + O.warm;
  double c0 = 0, p0 = 0;
  const unsigned bmask = io_uring_buf_ring_mask(BR_ENTRIES);
  (void)bmask;

  for (int t = 0; t < total; t++) {
    if (t == O.warm) { c0 = tcpu(); p0 = tcpu(CLOCK_PROCESS_CPUTIME_ID); }
    if (is_send()) {
      if (m == "noop") {
      } else if (m == "s1") {
        for (int i = 0; i < N; i++)
          if (sendto(mixfd[i], pkt, PKT, 0, (sockaddr*)&genaddr[i], sizeof(sockaddr_in)) != PKT) errors++;
      } else if (m == "s2") {
        for (int i = 0; i < N; i++)
          if (send(mixfd[i], pkt, PKT, 0) != PKT) errors++;
      } else if (m == "s3msg" || m == "s3send") {
        for (int i = 0; i < N; i++) {
          io_uring_sqe* sqe = io_uring_get_sqe(&ring);
          if (m == "s3msg") io_uring_prep_sendmsg(sqe, mixfd[i], &mh[i], 0);
          else io_uring_prep_send(sqe, mixfd[i], pkt, PKT, 0);
          set_fd(sqe, i);
          if (O.skipcqe) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
          io_uring_sqe_set_data64(sqe, i);
        }
        int r = io_uring_submit(&ring);
        if (r != N) { errno = r < 0 ? -r : 0; fprintf(stderr, "submit returned %d\n", r); errors++; }
        if (!O.skipcqe) {
          int got = 0;
          while (got < N) {
            unsigned head, cnt = 0;
            io_uring_cqe* cqe;
            io_uring_for_each_cqe(&ring, head, cqe) {
              if (cqe->res != PKT) { if (errors++ < 3) fprintf(stderr, "send cqe res %d\n", cqe->res); }
              cnt++;
            }
            io_uring_cq_advance(&ring, cnt);
            got += cnt;
            if (got < N) { io_uring_cqe* c; io_uring_wait_cqe(&ring, &c); }
          }
        } else {
          // errors would still post CQEs; check cheaply
          unsigned head, cnt = 0;
          io_uring_cqe* cqe;
          io_uring_for_each_cqe(&ring, head, cqe) { errors++; cnt++; }
          io_uring_cq_advance(&ring, cnt);
        }
      } else if (m == "s5mm") {
        for (int i = 0; i < N; i += 64) {
          int k = N - i < 64 ? N - i : 64;
          for (int j = 0; j < k; j++) {
            sio[j] = {pkt, PKT};
            memset(&smm[j], 0, sizeof(mmsghdr));
            smm[j].msg_hdr.msg_name = &genaddr[i + j];
            smm[j].msg_hdr.msg_namelen = sizeof(sockaddr_in);
            smm[j].msg_hdr.msg_iov = &sio[j];
            smm[j].msg_hdr.msg_iovlen = 1;
          }
          int r = sendmmsg(mixfd[0], smm.data(), k, 0);
          if (r < 0) die("sendmmsg");
          if (r != k) errors += k - r;
        }
      } else if (m == "s4raw" || m == "s4udp") {
        for (int i = 0; i < N; i++) {
          char* b = &rawbuf[(size_t)i * 256];
          iphdr* ip = (iphdr*)b;
          udphdr* uh = (udphdr*)(b + sizeof(iphdr));
          ip->ihl = 5; ip->version = 4; ip->tos = 0xb8; /* EF */ ip->tot_len = 0; ip->id = 0; ip->frag_off = 0;
          ip->ttl = 64; ip->protocol = IPPROTO_UDP; ip->check = 0;
          ip->saddr = htonl(INADDR_LOOPBACK); ip->daddr = genaddr[i].sin_addr.s_addr;
          uh->source = htons(MIX_BASE + i); uh->dest = genaddr[i].sin_port;
          uh->len = htons(sizeof(udphdr) + PKT); uh->check = 0;
          memcpy(b + sizeof(iphdr) + sizeof(udphdr), pkt, PKT);
          if (O.csum) {
            uint32_t s = 0;
            s += (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16);
            s += htons(IPPROTO_UDP) + uh->len;
            uint16_t c = ~csum16(uh, sizeof(udphdr) + PKT, s);
            uh->check = c ? c : 0xffff;
          }
        }
        for (int i = 0; i < N; i += 64) {
          int k = N - i < 64 ? N - i : 64;
          int r = sendmmsg(rawfd, &mm[i], k, 0);
          if (r < 0) die("sendmmsg raw");
          if (r != k) errors += k - r;
        }
      }
      post(a_sent, t + 1);
      wait_ge(a_done, t + 1);
    } else if (m == "r1" || m == "r2mm" || m == "r2rf") {
      if (m == "r2mm" || m == "r2rf" || !O.live) wait_ge(a_sent, t + 1);
      int got = 0;
      if (m == "r1") {
        while (got < N) {
          int n = epoll_wait(ep, evs.data(), O.maxev, 1000);
          if (n < 0) die("epoll_wait");
          if (n == 0) { fprintf(stderr, "epoll timeout got %d\n", got); exit(3); }
          for (int k = 0; k < n; k++) {
            int i = evs[k].data.u32;
            for (int j = 0; j < 4; j++) rmm[j].msg_hdr.msg_namelen = sizeof(sockaddr_in);
            int r = recvmmsg(mixfd[i], rmm, 4, MSG_DONTWAIT, nullptr);
            if (r > 0) {
              got += r;
              for (int j = 0; j < r; j++) {
                sink += rbuf[j][0];
                if (rmm[j].msg_len != PKT || ntohs(rsrc[j].sin_port) != GEN_BASE + i) errors++;
              }
            }
          }
        }
      } else {
        int passes = 0;
        std::vector<char> have(N, 0);
        while (got < N) {
          for (int i = 0; i < N; i++) {
            if (have[i]) continue;
            if (m == "r2mm") {
              for (int j = 0; j < 4; j++) rmm[j].msg_hdr.msg_namelen = sizeof(sockaddr_in);
              int r = recvmmsg(mixfd[i], rmm, 4, MSG_DONTWAIT, nullptr);
              if (r > 0) {
                got += r; have[i] = 1;
                for (int j = 0; j < r; j++) {
                  sink += rbuf[j][0];
                  if (rmm[j].msg_len != PKT || ntohs(rsrc[j].sin_port) != GEN_BASE + i) errors++;
                }
              }
            } else {
              socklen_t sl = sizeof(sockaddr_in);
              ssize_t r = recvfrom(mixfd[i], rbuf[0], sizeof rbuf[0], MSG_DONTWAIT, (sockaddr*)&rsrc[0], &sl);
              if (r > 0) {
                got++; have[i] = 1;
                sink += rbuf[0][0];
                if (r != PKT || ntohs(rsrc[0].sin_port) != GEN_BASE + i) errors++;
              }
            }
          }
          if (++passes > 1000) { fprintf(stderr, "r2 stuck\n"); exit(3); }
        }
      }
      post(a_done, t + 1);
    } else if (m == "r5mm") {
      if (!O.live) wait_ge(a_sent, t + 1);
      int got = 0;
      std::vector<char> have(N, 0);
      while (got < N) {
        for (int j = 0; j < 64; j++) {
          sio[j] = {sbufs[j].data(), sbufs[j].size()};
          memset(&smm[j], 0, sizeof(mmsghdr));
          smm[j].msg_hdr.msg_name = &ssrc[j];
          smm[j].msg_hdr.msg_namelen = sizeof(sockaddr_in);
          smm[j].msg_hdr.msg_iov = &sio[j];
          smm[j].msg_hdr.msg_iovlen = 1;
        }
        // live: wait in recvmmsg for the first packet, then take what is there (up to 64)
        timespec limit{1, 0};
        int r = recvmmsg(mixfd[0], smm.data(), 64, O.live ? MSG_WAITFORONE : MSG_DONTWAIT, O.live ? &limit : nullptr);
        if (r < 0) {
          if (!O.live && errno == EAGAIN) { fprintf(stderr, "r5 short: %d of %d\n", got, N); exit(3); }
          die("recvmmsg shared");
        }
        for (int j = 0; j < r; j++) {
          auto it = bySource.find((uint64_t)ntohl(ssrc[j].sin_addr.s_addr) << 16 | ntohs(ssrc[j].sin_port));
          if (it == bySource.end() || smm[j].msg_len != PKT || have[it->second]) { errors++; continue; }
          have[it->second] = 1;
          sink += sbufs[j][0];
          got++;
        }
      }
      post(a_done, t + 1);
    } else if (m == "r3" || m == "r4") {
      if (m == "r4") post(a_sent, t + 1);  // r4 generator waits on a_sent as 'go'
      if (m == "r3" && !O.live) wait_ge(a_sent, t + 1);
      int got = 0;
      bool first = true;
      while (got < N) {
        // r4: first enter of the tick submits the previous tick's replies and waits for all N receives.
        unsigned want = (O.live || m == "r4") ? (unsigned)(N - got) : 1;
        if (io_uring_cq_ready(&ring) == 0 || io_uring_sq_ready(&ring) > 0) {
          __kernel_timespec ts{1, 0};
          io_uring_cqe* c;
          int r = io_uring_submit_and_wait_timeout(&ring, &c, want, &ts, nullptr);
          if (r < 0 && r != -ETIME && r != -EINTR) { errno = -r; die("submit_and_wait_timeout"); }
          if (r == -ETIME && io_uring_cq_ready(&ring) == 0) { fprintf(stderr, "r3 timeout got %d\n", got); exit(3); }
        }
        (void)first; first = false;
        unsigned head, cnt = 0;
        int nbuf = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring, head, cqe) {
          got += handle_recv_cqe(cqe, nbuf, m == "r4");
          cnt++;
        }
        io_uring_buf_ring_advance(br, nbuf);
        io_uring_cq_advance(&ring, cnt);
      }
      if (m == "r3") post(a_done, t + 1);
    }
  }
  if (m == "r4") io_uring_submit(&ring);  // flush last replies (outside window is fine: tiny)
  mix_cpu = tcpu() - c0;
  proc_cpu = tcpu(CLOCK_PROCESS_CPUTIME_ID) - p0;
  return nullptr;
}

static long ksoftirqd_ns(const char* which) {
  long sum = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char p[300], comm[64] = {0};
    snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
    FILE* f = fopen(p, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f) && strcmp(comm, which) == 0) {
      fclose(f);
      snprintf(p, sizeof p, "/proc/%s/schedstat", e->d_name);
      f = fopen(p, "r");
      long ns = 0;
      if (f && fscanf(f, "%ld", &ns) == 1) sum += ns;
    }
    if (f) fclose(f);
  }
  closedir(d);
  return sum;
}

static double wall_us();
static double busy_us() {  // 2 CPUs * wall - (idle+iowait) from /proc/stat; idle is precise under NO_HZ, USER_HZ units
  FILE* f = fopen("/proc/stat", "r");
  unsigned long long v[8] = {0};
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5) return 0;
  fclose(f);
  double hz = sysconf(_SC_CLK_TCK);
  return sysconf(_SC_NPROCESSORS_ONLN) * wall_us() - (v[3] + v[4]) * 1e6 / hz;
}
static double wall_us() { timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3; }

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto nxt = [&]() { return std::string(argv[++i]); };
    if (a == "--mode") O.mode = nxt();
    else if (a == "--n") O.n = std::stoi(nxt());
    else if (a == "--ticks") O.ticks = std::stoi(nxt());
    else if (a == "--warm") O.warm = std::stoi(nxt());
    else if (a == "--maxev") O.maxev = std::stoi(nxt());
    else if (a == "--fixed") O.fixed = true;
    else if (a == "--defer") O.defer = true;
    else if (a == "--skipcqe") O.skipcqe = true;
    else if (a == "--live") O.live = true;
    else if (a == "--csum") O.csum = true;
    else if (a == "--conn") O.conn = true;
    else if (a == "--rt") O.rt = true;
    else { fprintf(stderr, "bad arg %s\n", a.c_str()); return 1; }
  }
  N = O.n;
  mixfd.resize(N); genfd.resize(N); mixaddr.resize(N); genaddr.resize(N);
  for (int i = 0; i < N; i++) {
    mixaddr[i] = mk(MIX_BASE + i);
    genaddr[i] = mk(GEN_BASE + i);
    mixfd[i] = socket(AF_INET, SOCK_DGRAM, 0);
    genfd[i] = socket(AF_INET, SOCK_DGRAM, 0);
    if (mixfd[i] < 0 || genfd[i] < 0) die("socket");
    // a previous run's io_uring may still hold its sockets for a moment (async ring teardown): retry
    for (int tries = 0; bind(mixfd[i], (sockaddr*)&mixaddr[i], sizeof(sockaddr_in)); tries++) {
      if (errno != EADDRINUSE || tries > 300) die("bind mixer");
      usleep(10000);
    }
    for (int tries = 0; bind(genfd[i], (sockaddr*)&genaddr[i], sizeof(sockaddr_in)); tries++) {
      if (errno != EADDRINUSE || tries > 300) die("bind gen");
      usleep(10000);
    }
    if (O.mode == "s2" || O.mode == "s3send" || O.conn)
      if (connect(mixfd[i], (sockaddr*)&genaddr[i], sizeof(sockaddr_in))) die("connect");
  }
  pthread_barrier_init(&bar, nullptr, 2);
  long k0 = ksoftirqd_ns("ksoftirqd/0\n"), q0 = ksoftirqd_ns("ksoftirqd/1\n");
  double b0 = busy_us(), w0 = wall_us(), pc0 = tcpu(CLOCK_PROCESS_CPUTIME_ID);
  pthread_t tm, tg;
  pthread_create(&tm, nullptr, mix_main, nullptr);
  pthread_create(&tg, nullptr, gen_main, nullptr);
  pthread_join(tm, nullptr);
  pthread_join(tg, nullptr);
  double b1 = busy_us(), w1 = wall_us(), pc1 = tcpu(CLOCK_PROCESS_CPUTIME_ID);
  double foreign = ((b1 - b0) - (pc1 - pc0)) / (2 * (w1 - w0)) * 100;
  long k1 = ksoftirqd_ns("ksoftirqd/0\n"), q1 = ksoftirqd_ns("ksoftirqd/1\n");
  double pk = (double)N * O.ticks;
  std::string fl;
  if (O.fixed) fl += "+fixed";
  if (O.defer) fl += "+defer";
  if (O.skipcqe) fl += "+skipcqe";
  if (O.live) fl += "+live";
  if (O.csum) fl += "+csum";
  if (O.conn) fl += "+conn";
  if (O.mode == "r1") fl += "+maxev" + std::to_string(O.maxev);
  if (fl.empty()) fl = "-";
  printf("RESULT mode=%s flags=%s n=%d ticks=%d mixer_us_pkt=%.3f gen_us_pkt=%.3f other_us_pkt=%.3f ksoftirqd0_us_pkt=%.3f ksoftirqd1_us_pkt=%.3f errors=%ld gen_errors=%ld rearms=%ld foreign_load_pct=%.0f wall_s=%.2f\n",
         O.mode.c_str(), fl.c_str(), N, O.ticks, mix_cpu / pk, gen_cpu / pk, (proc_cpu - mix_cpu - gen_cpu) / pk,
         (k1 - k0) / 1e3 / pk, (q1 - q0) / 1e3 / pk, errors, gen_errors, rearms, foreign, (w1 - w0) / 1e6);
  return 0;
}
