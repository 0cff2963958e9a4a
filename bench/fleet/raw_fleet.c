/*
 * The broker's raw capacity for prepull's message pattern, without prepull:
 * N clients each subscribe to their own task topic; one "cloud" client subscribes to every status
 * topic, publishes one QoS 1 task per node, and waits for REPLIES QoS 1 status messages per node
 * on average (a fraction: some nodes send one more, so the total is REPLIES x NODES).
 * Every client is driven by non-threaded libmosquitto from one epoll loop per process; the fleet is
 * split over PROCS processes (libmosquitto keeps 3 descriptors per client, and one process may hold
 * at most ~20,000).
 * Payload sizes: TASK_BYTES for every task, and STATUS_BYTES (a comma-separated list) for the status
 * messages, the k-th reply of a node taking the k-th size (cyclically). fleet.sh passes the sizes of
 * prepull's own messages, so that both runs move the same bytes; the defaults are small placeholders.
 *
 *   cc -O2 -o raw_fleet raw_fleet.c -lmosquitto -lm
 *   raw_fleet HOST PORT NODES [REPLIES=4] [PROCS=2] [TASK_BYTES=70] [STATUS_BYTES=45]
 * Prints: nodes, seconds from the first task to the last status, messages per second.
 *
 * Over bridged brokers (bench/regions/regions.sh), from the environment:
 *   RAW_NODE_PORTS=P1,P2,...  node i connects to port P(i mod count) (its regional broker), at HOST;
 *   RAW_CLOUD_PORT=P          the cloud clients connect there (the core) instead of PORT;
 *   RAW_CLOUD_ROOT=fleet/events  the cloud's topic root (the bridges remap the nodes' $hw/events);
 *   RAW_CLOUDS=K              K cloud clients sharing the status stream ($share/raw/...), as K
 *                             replicas do; the first publishes every task.
 */
#include <mosquitto.h>
#include <math.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static int block = 1; /* the 127.B.0.x source block of this run's nodes */
static int port, nodes, procs = 2;
static int node_ports[64], node_port_count;
static int cloud_port;
static const char *cloud_root = "$hw/events";
static int clouds = 1;
/* Status messages per node, on average: prepull's count divided by its nodes. Node i sends the
 * whole part, plus one more for the first (fraction x nodes) nodes, so the total matches. */
static double replies = 4;
static int connected_count, expected_connected;
static long statuses_seen;
static long reconnects;
static char *task_body;
static int task_bytes = 70;
#define MAX_SIZES 16
static char *status_bodies[MAX_SIZES];
static int status_sizes[MAX_SIZES] = {45}, status_size_count = 1;

/* A JSON-shaped payload of exactly `bytes` bytes (the broker only copies it; its content is moot). */
static char *payload(int bytes) {
    char *p = malloc(bytes + 1);
    memset(p, 'x', bytes);
    if (bytes >= 2) { p[0] = '{'; p[bytes - 1] = '}'; }
    p[bytes] = 0;
    return p;
}

static void parse_sizes(const char *list) {
    status_size_count = 0;
    for (const char *c = list; *c && status_size_count < MAX_SIZES;) {
        int v = atoi(c);
        if (v <= 0) { fprintf(stderr, "STATUS_BYTES: \"%s\" is not a list of positive sizes\n", list); exit(2); }
        status_sizes[status_size_count++] = v;
        while (*c && *c != ',') c++;
        if (*c == ',') c++;
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *p) {
    (void)flags; (void)p;
    if (rc != 0) { fprintf(stderr, "connect refused: %d\n", rc); exit(1); }
    char topic[128];
    long id = (long)obj - 2;
    if (id < 0) {
        char filter[256];
        snprintf(filter, sizeof filter, clouds > 1 ? "$share/raw/%s/node/+/prepull/+/status" : "%s/node/+/prepull/+/status", cloud_root);
        mosquitto_subscribe_v5(m, NULL, filter, 1, 0, NULL);
    } else {
        snprintf(topic, sizeof topic, "$hw/events/node/edge-%ld/prepull/+/task", id);
        mosquitto_subscribe_v5(m, NULL, topic, 1, 0, NULL);
    }
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *q, const mosquitto_property *p) {
    (void)m; (void)obj; (void)mid; (void)n; (void)q; (void)p;
    connected_count++;
}

static int replies_of(long id) {
    int whole = (int)replies;
    long extra = lround((replies - whole) * nodes);
    return whole + (id < extra ? 1 : 0);
}

static long total_replies(void) {
    int whole = (int)replies;
    return (long)whole * nodes + lround((replies - whole) * nodes);
}

static void on_node_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg, const mosquitto_property *p) {
    (void)msg; (void)p;
    char topic[128];
    long id = (long)obj - 2;
    snprintf(topic, sizeof topic, "$hw/events/node/edge-%ld/prepull/raw-job/status", id);
    for (int i = 0, n = replies_of(id); i < n; i++) {
        int k = i % status_size_count;
        mosquitto_publish_v5(m, NULL, topic, status_sizes[k], status_bodies[k], 1, false, NULL);
    }
}

static void on_cloud_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg, const mosquitto_property *p) {
    (void)m; (void)obj; (void)msg; (void)p;
    statuses_seen++;
}

static struct mosquitto *make_client(const char *id, long tag, const char *bind, int port) {
    /* libmosquitto replaces a NULL user pointer with the client itself: store tag + 2, never 0. */
    struct mosquitto *m = mosquitto_new(id, true, (void *)(tag + 2));
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, tag < 0 ? on_cloud_message : on_node_message);
    if (mosquitto_connect_bind_v5(m, host, port, 60, bind, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "connect %s failed\n", id);
        exit(1);
    }
    return m;
}

/* Drives clients until done() holds. */
static void drive(struct mosquitto **clients, int count, int (*done)(void)) {
    int ep = epoll_create1(0);
    for (int i = 0; i < count; i++) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (unsigned)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, mosquitto_socket(clients[i]), &ev);
    }
    struct epoll_event events[1024];
    double last_misc = now();
    while (!done()) {
        int n = epoll_wait(ep, events, 1024, 100);
        for (int i = 0; i < n; i++) {
            struct mosquitto *m = clients[events[i].data.u32];
            int rc = MOSQ_ERR_SUCCESS;
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) rc = mosquitto_loop_read(m, 64);
            if (rc == MOSQ_ERR_SUCCESS && (events[i].events & EPOLLOUT)) rc = mosquitto_loop_write(m, 64);
            struct epoll_event ev = {.events = EPOLLIN | (mosquitto_want_write(m) ? EPOLLOUT : 0),
                                     .data.u32 = events[i].data.u32};
            if (rc != MOSQ_ERR_SUCCESS) {
                /* The broker dropped us (e.g. during the connect storm): reconnect, as prepull's
                 * clients do, instead of waiting forever for this client. */
                reconnects++;
                while (mosquitto_reconnect(m) != MOSQ_ERR_SUCCESS) usleep(10000);
                ev.events = EPOLLIN | EPOLLOUT;
                epoll_ctl(ep, EPOLL_CTL_ADD, mosquitto_socket(m), &ev);
                continue;
            }
            epoll_ctl(ep, EPOLL_CTL_MOD, mosquitto_socket(m), &ev);
        }
        if (now() - last_misc > 1) {
            for (int i = 0; i < count; i++) mosquitto_loop_misc(clients[i]);
            last_misc = now();
        }
    }
    close(ep);
}

/* CPU seconds of process PID (utime + stime), or -1: BROKER_PID in the environment lets the run
 * report the broker's CPU for the job phase alone, to compare with prepull's broker. BROKER_PID may
 * list several, comma-separated (a core and its regional brokers): their sum. */
static double one_process_cpu(const char *pid, size_t len);
static double process_cpu(const char *pids) {
    if (!pids) return -1;
    double sum = 0;
    for (const char *c = pids; *c;) {
        size_t len = strcspn(c, ",");
        double one = one_process_cpu(c, len);
        if (one < 0) return -1;
        sum += one;
        c += len;
        if (*c == ',') c++;
    }
    return sum;
}

static double one_process_cpu(const char *pid, size_t len) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%.*s/stat", (int)len, pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int all_subscribed(void) { return connected_count >= expected_connected; }
static int never(void) { return 0; }
static long expected_statuses;
static int all_statuses(void) { return statuses_seen >= expected_statuses; }

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT NODES [REPLIES_PER_NODE, e.g. 4.32] [PROCS] [TASK_BYTES] [STATUS_BYTES,...]\n", argv[0]);
        return 2;
    }
    host = argv[1]; port = atoi(argv[2]); nodes = atoi(argv[3]);
    if (getenv("RAW_NODE_PORTS")) {
        for (const char *c = getenv("RAW_NODE_PORTS"); *c && node_port_count < 64;) {
            node_ports[node_port_count++] = atoi(c);
            while (*c && *c != ',') c++;
            if (*c == ',') c++;
        }
    }
    if (getenv("RAW_CLOUD_PORT")) cloud_port = atoi(getenv("RAW_CLOUD_PORT"));
    if (getenv("RAW_CLOUD_ROOT")) cloud_root = getenv("RAW_CLOUD_ROOT");
    if (getenv("RAW_CLOUDS") && (clouds = atoi(getenv("RAW_CLOUDS"))) < 1) clouds = 1;
    if (clouds > 64) clouds = 64;
    if (argc > 4) replies = atof(argv[4]);
    if (argc > 5) procs = atoi(argv[5]);
    if (argc > 6 && (task_bytes = atoi(argv[6])) <= 0) { fprintf(stderr, "TASK_BYTES: \"%s\" is not a positive size\n", argv[6]); return 2; }
    if (argc > 7) parse_sizes(argv[7]);
    task_body = payload(task_bytes);
    for (int k = 0; k < status_size_count; k++) status_bodies[k] = payload(status_sizes[k]);
    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl); rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl);
    mosquitto_lib_init();
    block = 1 + (int)((unsigned)(getpid() ^ (unsigned)time(NULL)) % 254);
    int ready[2]; if (pipe(ready) != 0) return 1;
    pid_t children[64];
    if (procs > 64) procs = 64;
    for (int p = 0; p < procs; p++) {
        if ((children[p] = fork()) == 0) {
            int first = nodes * p / procs, last = nodes * (p + 1) / procs;
            struct mosquitto **clients = calloc(last - first, sizeof *clients);
            char id[64], bind[32];
            for (int i = first; i < last; i++) {
                snprintf(id, sizeof id, "edge-%d", i);
                /* ~28k ephemeral ports per source address: spread over 127.B.0.x, 4,000 per address, with
                 * B new for each run: the ports of the previous runs sit in TIME_WAIT for a minute, and
                 * back-to-back rounds on one address ran out of them ("connect edge-N failed"). */
                snprintf(bind, sizeof bind, "127.%d.0.%d", block, 2 + i / 4000);
                clients[i - first] = make_client(id, i, bind, node_port_count ? node_ports[i % node_port_count] : port);
            }
            expected_connected = last - first;
            drive(clients, last - first, all_subscribed);
            if (write(ready[1], "r", 1) != 1) return 1;
            drive(clients, last - first, never); /* answer tasks until killed */
            return 0;
        }
    }
    char byte; for (int p = 0; p < procs; p++) if (read(ready[0], &byte, 1) != 1) return 1;
    struct mosquitto *cloud[64];
    char cloud_id[32];
    for (int c = 0; c < clouds; c++) {
        snprintf(cloud_id, sizeof cloud_id, "raw-cloud-%d", c);
        cloud[c] = make_client(cloud_id, -1, NULL, cloud_port ? cloud_port : port);
    }
    expected_connected = clouds; connected_count = 0;
    drive(cloud, clouds, all_subscribed);
    mosquitto_max_inflight_messages_set(cloud[0], 100);
    char topic[256];
    double broker_cpu0 = process_cpu(getenv("BROKER_PID"));
    double start = now();
    for (int i = 0; i < nodes; i++) {
        snprintf(topic, sizeof topic, "%s/node/edge-%d/prepull/raw-job/task", cloud_root, i);
        mosquitto_publish_v5(cloud[0], NULL, topic, task_bytes, task_body, 1, false, NULL);
    }
    expected_statuses = total_replies();
    drive(cloud, clouds, all_statuses);
    double elapsed = now() - start;
    double broker_cpu = process_cpu(getenv("BROKER_PID"));
    if (reconnects) fprintf(stderr, "raw-cloud reconnected %ld times\n", reconnects);
    printf("raw nodes=%d replies=%.3f task_bytes=%d seconds=%.3f msgs_per_s=%.0f broker_cpu=%.2f\n", nodes, replies, task_bytes,
           elapsed, (nodes + total_replies()) / elapsed, broker_cpu0 >= 0 && broker_cpu >= 0 ? broker_cpu - broker_cpu0 : -1.0);
    for (int p = 0; p < procs; p++) { kill(children[p], SIGTERM); waitpid(children[p], NULL, 0); }
    return 0;
}
