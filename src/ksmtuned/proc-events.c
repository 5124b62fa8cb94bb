/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event-budget.h"
#include "log.h"
#include "macro.h"
#include "proc-events.h"
#include "units.h"

/* How long the start waits for the event of its own test child, with the
 * filtered request (answered at once where it is understood), then without. */
#define PROBE_FILTERED_MS 200
#define PROBE_TIMEOUT_MS 500
/* Datagrams read per recvmmsg(); each holds one event of about 100 bytes. */
#define RECV_SLOTS 64
#define RECV_SLOT_SIZE 512
/* Room for a storm's events between two reads (PROC_EVENTS_DEFER_MS):
 * about 1 KiB of socket memory each, so some 16,000. */
#define RCVBUF_BYTES (16 * 1024 * 1024)
/* After an overflow (events lost), a retune at most this often: the
 * periodic scan finds what was missed anyway. */
#define OVERFLOW_RETUNE_USEC (10 * USEC_PER_SEC)
/* A storm within this long of the last one is the same storm: said at
 * debug level only. */
#define STORM_NEWS_USEC (60 * USEC_PER_SEC)

struct ProcEvents {
        int fd;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *defer;         /* runs the pending checks */
        sd_event_source *resume;        /* ends a storm's pause */
        ProcEventsOps ops;
        void *userdata;
        pid_t *pending;                 /* exec'd, to check */
        size_t n_pending;
        bool overflow;
        uint64_t last_overflow_retune;  /* CLOCK_MONOTONIC, us */
        char (*slots)[RECV_SLOT_SIZE];  /* RECV_SLOTS receive buffers */
        EventBudget budget;             /* events read in the current second */
        bool listening;                 /* fd sent LISTEN: IGNORE before closing it */
        bool tripped;                   /* the last drain went over the budget */
        uint64_t last_storm;            /* CLOCK_MONOTONIC, us; 0 none yet */
        bool resume_failed;             /* said so; quiet until it works again */
        ProcEventsStats stats;          /* .paused: fd closed after a storm */
};

/* The LISTEN request: a netlink header, a connector header, the op and,
 * for Linux 6.6 and later, the events wanted (struct proc_input there: the
 * kernel then drops forks, uid changes and the like before they are
 * queued). Older kernels ignore a request of that length: then the plain
 * op, for every event. */
typedef struct __attribute__((packed)) ListenMsg {
        struct nlmsghdr nl;
        struct cn_msg cn;
        uint32_t op;                    /* enum proc_cn_mcast_op */
        uint32_t events;                /* a mask of PROC_EVENT_* */
} ListenMsg;

#define WANTED_EVENTS ((uint32_t) (PROC_EVENT_EXEC | PROC_EVENT_COMM | PROC_EVENT_EXIT))

/* Send op (PROC_CN_MCAST_LISTEN or _IGNORE) in the form the kernel
 * understood at start-up. Returns 0 or negative errno. */
static int mcast_ctl(int fd, bool filtered, enum proc_cn_mcast_op op) {
        size_t len = filtered ? 2 * sizeof(uint32_t) : sizeof(uint32_t);
        ListenMsg m = {
                .nl = { .nlmsg_len = (uint32_t) (sizeof(struct nlmsghdr) + sizeof(struct cn_msg) + len),
                        .nlmsg_type = NLMSG_DONE, .nlmsg_pid = (uint32_t) getpid() },
                .cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .len = (uint16_t) len },
                .op = (uint32_t) op,
                .events = WANTED_EVENTS,
        };

        return send(fd, &m, m.nl.nlmsg_len, 0) < 0 ? negative_errno() : 0;
}

/* A netlink socket on the process connector with room for a storm's
 * events between two reads. Returns the fd or negative errno. */
static int open_socket(void) {
        int size = RCVBUF_BYTES, fd;

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
        if (fd < 0)
                return negative_errno();
        /* FORCE: beyond rmem_max, as root may; else the default, and overflows are handled. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        return fd;
}

/* Join the connector's group and ask for events. Returns 0 or negative
 * errno (-EPERM without CAP_NET_ADMIN). */
static int subscribe(int fd, bool filtered) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        return mcast_ctl(fd, filtered, PROC_CN_MCAST_LISTEN);
}

/* Say IGNORE before closing: older kernels count listeners only by these
 * requests (an IGNORE without a LISTEN would steal another's), and build
 * every message while the count is above zero. */
static void unsubscribe(ProcEvents *p) {
        if (p->fd < 0)
                return;
        if (p->listening)
                (void) mcast_ctl(p->fd, p->stats.filtered, PROC_CN_MCAST_IGNORE);
        p->listening = false;
        closep(&p->fd);
        p->fd = -1;
}

static void add_pending(ProcEvents *p, pid_t pid) {
        for (size_t i = p->n_pending; i > 0 && i + 8 > p->n_pending; i--)
                if (p->pending[i - 1] == pid)
                        return;         /* exec then rename: one check */
        if (p->n_pending == PROC_EVENTS_PENDING_MAX) {
                p->overflow = true;
                return;
        }
        p->pending[p->n_pending++] = pid;
}

/* An exited process need not be checked any more. Returns whether it was pending. */
static bool drop_pending(ProcEvents *p, pid_t pid) {
        /* Short-lived processes exit soon after their exec: look from the end. */
        for (size_t i = p->n_pending; i > 0; i--)
                if (p->pending[i - 1] == pid) {
                        p->pending[i - 1] = p->pending[--p->n_pending];
                        return true;
                }
        return false;
}

static void handle(ProcEvents *p, const struct proc_event *ev) {
        switch (ev->what) {
        case PROC_EVENT_EXEC:
                add_pending(p, ev->event_data.exec.process_tgid);
                break;
        case PROC_EVENT_COMM:
                /* prctl(PR_SET_NAME) of the main thread: "qemu:NAME" titles. */
                if (ev->event_data.comm.process_pid == ev->event_data.comm.process_tgid)
                        add_pending(p, ev->event_data.comm.process_tgid);
                break;
        case PROC_EVENT_EXIT:
                if (ev->event_data.exit.process_pid != ev->event_data.exit.process_tgid)
                        break;          /* a thread */
                if (!drop_pending(p, ev->event_data.exit.process_tgid))
                        p->ops.exited(ev->event_data.exit.process_tgid, p->userdata);
                break;
        default:
                break;
        }
}

/* Handle the events in one datagram of size bytes. Returns how many. */
static unsigned handle_datagram(ProcEvents *p, const char *buf, size_t size) {
        unsigned n = 0;

        for (const struct nlmsghdr *h = (const struct nlmsghdr *) buf; NLMSG_OK(h, size); h = NLMSG_NEXT(h, size)) {
                const struct cn_msg *cn = NLMSG_DATA(h);
                struct proc_event ev;

                if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_ERROR ||
                    h->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + sizeof(ev)) ||
                    cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC)
                        continue;
                /* The event follows a 20-byte header: copy it to align its 64-bit fields. */
                memcpy(&ev, cn->data, sizeof(ev));
                handle(p, &ev);
                n++;
        }
        return n;
}

/* Read everything queued, RECV_SLOTS datagrams per system call. When
 * budgeted, no more than one event beyond what the second's budget has
 * room for: on reading it, sets p->tripped and leaves the rest queued.
 * Returns how many events or negative errno. */
static int drain(ProcEvents *p, bool budgeted) {
        struct mmsghdr msgs[RECV_SLOTS];
        struct iovec iov[RECV_SLOTS];
        unsigned n = 0;

        for (;;) {
                uint64_t now = budgeted ? now_usec(CLOCK_MONOTONIC) : 0;
                unsigned vlen = RECV_SLOTS, got = 0;
                int k;

                if (budgeted) {
                        unsigned room = event_budget_room(&p->budget, now, PROC_EVENTS_BUDGET);

                        /* One more than the room: the event that tells a storm. */
                        if (room < RECV_SLOTS)
                                vlen = room + 1;
                }
                for (unsigned i = 0; i < vlen; i++) {
                        iov[i] = (struct iovec) { .iov_base = p->slots[i], .iov_len = RECV_SLOT_SIZE };
                        msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
                }
                k = recvmmsg(p->fd, msgs, vlen, MSG_DONTWAIT, NULL);
                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        if (errno == ENOBUFS) {
                                /* The socket overran: some events are lost. */
                                p->overflow = true;
                                continue;
                        }
                        return negative_errno();
                }
                for (int i = 0; i < k; i++)
                        got += handle_datagram(p, p->slots[i], msgs[i].msg_len);
                n += got;
                if (budgeted && event_budget_count(&p->budget, now, got, PROC_EVENTS_BUDGET)) {
                        p->tripped = true;
                        break;
                }
                if ((unsigned) k < vlen)
                        break;
        }
        p->stats.messages += n;
        return (int) n;
}

/* Fire timer s once, usec from now. Returns 0 or negative errno. */
static int arm_oneshot(sd_event_source *s, uint64_t usec) {
        int r = sd_event_source_set_time_relative(s, usec);

        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* A storm: stop listening for PROC_EVENTS_PAUSE_USEC, or until a tick
 * resumes sooner. The kernel stops building messages for a socket that
 * said IGNORE (for all, when it was the last listener), and closing it
 * frees what is queued. The checks pending are dropped: the caller's scan
 * after the pause reads every pid handed out meanwhile. */
static void pause_for_storm(ProcEvents *p) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        bool news = p->last_storm == 0 || now - p->last_storm > STORM_NEWS_USEC;
        int r;

        p->io = sd_event_source_disable_unref(p->io);
        (void) sd_event_source_set_enabled(p->defer, SD_EVENT_OFF);
        unsubscribe(p);
        p->n_pending = 0;
        p->overflow = false;
        p->tripped = false;
        p->stats.paused = true;
        p->stats.storms++;
        p->last_storm = now;
        r = arm_oneshot(p->resume, PROC_EVENTS_PAUSE_USEC);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the timer that follows process events again after a storm, "
                                  "following them again at the next tick: %m");
        /* Said once while storms follow each other; for debugging, every time. */
        log_full_errno(news ? LOG_INFO : LOG_DEBUG, 0,
                       "More than %u process events in a second: following them again in %u s, "
                       "finding guests started meanwhile by a scan then", PROC_EVENTS_BUDGET,
                       (unsigned) (PROC_EVENTS_PAUSE_USEC / USEC_PER_SEC));
}

static int on_resume(sd_event_source *s, uint64_t usec, void *userdata) {
        ProcEvents *p = userdata;
        int r;

        (void) usec;
        r = proc_events_resume(p);
        if (r > 0)
                p->ops.resumed(p->userdata);
        else if (r < 0)
                /* Logged; try again after another pause. */
                (void) arm_oneshot(s, PROC_EVENTS_PAUSE_USEC);
        return 0;
}

/* Read what came, check the processes still there, and listen again. Reads
 * are paced: after one, the socket is left alone for PROC_EVENTS_DEFER_MS,
 * so an exec storm costs a few system calls per interval, not a wake-up
 * per event, and most of its processes have exited before they are looked at. */
static int on_defer(sd_event_source *s, uint64_t usec, void *userdata) {
        ProcEvents *p = userdata;
        bool changed = false;
        int r;

        (void) s, (void) usec;
        r = drain(p, true);
        if (p->tripped) {
                pause_for_storm(p);
                return 0;
        }
        for (size_t i = 0; i < p->n_pending && !changed && r >= 0; i++) {
                p->stats.checks++;
                changed = p->ops.check(p->pending[i], p->userdata) > 0;
        }
        p->n_pending = 0;
        if (p->overflow) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                p->stats.overflows++;
                p->overflow = false;
                if (now >= p->last_overflow_retune + OVERFLOW_RETUNE_USEC) {
                        p->last_overflow_retune = now;
                        changed = true;
                }
        }
        if (changed)
                p->ops.changed(p->userdata);
        if (r < 0) {
                log_warning_errno(r, "Cannot read process events, finding guests by the periodic scan only: %m");
                return 0;
        }
        (void) sd_event_source_set_enabled(p->io, SD_EVENT_ON);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ProcEvents *p = userdata;
        int r;

        (void) fd, (void) revents;
        r = drain(p, true);
        if (p->tripped) {
                pause_for_storm(p);     /* unrefs s: sd-event keeps it until we return */
                return 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot read process events, finding guests by the periodic scan only: %m");
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        if (p->n_pending == 0 && !p->overflow)
                return 0;       /* only exits of non-guests, or guests (reported) */
        /* Something to check: pause reading until the check. */
        r = arm_oneshot(p->defer, PROC_EVENTS_DEFER_MS * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return r;
}

/* Fork a child that exits at once and wait for its exit event: a kernel
 * without CONFIG_PROC_EVENTS accepts the subscription and sends nothing.
 * Events read meanwhile are handled, outside the budget: this runs once,
 * for at most PROBE_FILTERED_MS + PROBE_TIMEOUT_MS. Returns 0 or -ENODATA. */
static int probe(ProcEvents *p, unsigned timeout_ms) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_ms * USEC_PER_MSEC;
        pid_t child;
        bool seen = false;

        child = fork();
        if (child < 0)
                return negative_errno();
        if (child == 0)
                _exit(0);
        (void) waitpid(child, NULL, 0);
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

                if (p->stats.messages > 0)
                        seen = true;
                if (seen || now >= deadline)
                        break;
                if (poll(&pfd, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1) < 0 && errno != EINTR)
                        return negative_errno();
                if (drain(p, false) < 0)
                        break;
        }
        return seen ? 0 : -ENODATA;
}

static int watch(ProcEvents *p) {
        int r;

        r = sd_event_add_io(p->event, &p->io, p->fd, EPOLLIN, on_io, p);
        if (r >= 0)
                (void) sd_event_source_set_description(p->io, "proc-events");
        return r;
}

int proc_events_new(sd_event *e, const ProcEventsOps *ops, void *userdata, ProcEvents **ret, char *why,
                    size_t why_size) {
        ProcEvents *p;
        int r;

        if (why_size > 0)
                why[0] = '\0';
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->ops = *ops;
        p->userdata = userdata;
        p->event = sd_event_ref(e);
        p->pending = malloc(PROC_EVENTS_PENDING_MAX * sizeof(pid_t));
        p->slots = malloc(RECV_SLOTS * sizeof(*p->slots));
        p->fd = open_socket();
        if (!p->pending || !p->slots) {
                r = -ENOMEM;
                snprintf(why, why_size, "out of memory");
                goto fail;
        }
        if (p->fd < 0) {
                r = p->fd;
                snprintf(why, why_size, "no netlink process connector (%s)", strerror(-r));
                goto fail;
        }
        r = subscribe(p->fd, true);
        p->listening = r >= 0;
        if (r >= 0) {
                r = probe(p, PROBE_FILTERED_MS);
                p->stats.filtered = r >= 0;
                if (r == -ENODATA) {
                        r = mcast_ctl(p->fd, false, PROC_CN_MCAST_LISTEN);
                        if (r >= 0)
                                r = probe(p, PROBE_TIMEOUT_MS);
                }
        } else
                snprintf(why, why_size, "cannot subscribe to process events (%s%s)", strerror(-r),
                         r == -EPERM ? ": it needs CAP_NET_ADMIN" : "");
        if (r < 0) {
                if (!*why)
                        snprintf(why, why_size, r == -ENODATA ? "no process event arrived (a kernel without "
                                                                "CONFIG_PROC_EVENTS?)"
                                                              : "cannot test process events (%s)", strerror(-r));
                goto fail;
        }
        r = watch(p);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &p->defer, CLOCK_MONOTONIC, PROC_EVENTS_DEFER_MS * USEC_PER_MSEC,
                                               0, on_defer, p);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->defer, p->n_pending > 0 ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        if (r < 0) {
                snprintf(why, why_size, "cannot watch process events (%s)", strerror(-r));
                goto fail;
        }
        (void) sd_event_source_set_description(p->defer, "proc-events-check");
        r = sd_event_add_time_relative(e, &p->resume, CLOCK_MONOTONIC, PROC_EVENTS_PAUSE_USEC, 0, on_resume, p);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->resume, SD_EVENT_OFF);
        if (r < 0) {
                snprintf(why, why_size, "cannot watch process events (%s)", strerror(-r));
                goto fail;
        }
        (void) sd_event_source_set_description(p->resume, "proc-events-resume");
        *ret = p;
        return 0;
fail:
        proc_events_free(p);
        return r;
}

ProcEvents *proc_events_free(ProcEvents *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->io);
        sd_event_source_disable_unref(p->defer);
        sd_event_source_disable_unref(p->resume);
        sd_event_unref(p->event);
        unsubscribe(p);
        free(p->pending);
        free(p->slots);
        free(p);
        return NULL;
}

int proc_events_resume(ProcEvents *p) {
        int r;

        if (!p->stats.paused)
                return 0;
        p->fd = open_socket();
        r = p->fd < 0 ? p->fd : subscribe(p->fd, p->stats.filtered);
        p->listening = r >= 0;
        if (r >= 0)
                r = watch(p);
        if (r < 0) {
                p->io = sd_event_source_disable_unref(p->io);
                unsubscribe(p);
                if (!p->resume_failed)
                        log_warning_errno(r, "Cannot follow process events again, finding guests by the periodic "
                                          "scan, trying again at the next tick or in %u s: %m",
                                          (unsigned) (PROC_EVENTS_PAUSE_USEC / USEC_PER_SEC));
                p->resume_failed = true;
                return r;
        }
        if (p->resume_failed)
                log_info("Following process events again");
        else
                log_debug("Following process events again");
        p->resume_failed = false;
        (void) sd_event_source_set_enabled(p->resume, SD_EVENT_OFF);
        event_budget_reset(&p->budget);
        p->stats.paused = false;
        return 1;
}

void proc_events_stats(const ProcEvents *p, ProcEventsStats *ret) {
        *ret = p->stats;
}
