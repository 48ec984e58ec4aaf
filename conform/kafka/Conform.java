// The Java side of the conformance harness (conform/realcluster.py compiles it into the cache).
//
// `java Conform format ID FILE...`: formats the KRaft storage of each node's properties file
// with cluster id ID (kafka.tools.StorageTool, as `kafka-storage.sh format` does), all in one JVM.
//
// `java Conform consumer`: one Java KafkaConsumer (org.apache.kafka:kafka-clients), driven
// over stdin/stdout as conform/worker.py drives librdkafka: one JSON object per line each
// way; a request is {"op": ..., ...}, the reply {"ok": true, ...} or {"error": "..."}.
// Ops: start (conf, topic, partition), assign (offset: seek there), unassign, poll (max,
// first, end), commit (offset: commitSync of that offset; none: commitSync()), commit_async
// (commitAsync(), waited for through its callback), auto_commit_due (the classic consumer's
// auto-commit timer expired, so the next poll() commits), subscribe and join (the group
// protocol assigns the partition), expire_poll_timer (max.poll.interval.ms exceeded: the
// heartbeat thread leaves the group), position, seek, refetch, close.
// A crash is kill -9 of this process (the harness does it); nothing runs on the way down.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class Conform {
    private static final ObjectMapper JSON = new ObjectMapper();
    private KafkaConsumer<byte[], byte[]> consumer;
    private TopicPartition tp;
    // Records a poll() returned beyond what the harness asked for (max), handed out next time.
    private final List<Long> ahead = new ArrayList<>();
    private boolean subscribed;  // group mode: subscribe(), the coordinator assigns the partition
    private int assignments;  // onPartitionsAssigned calls so far (a completed rebalance, even an empty share)
    private final java.util.Set<TopicPartition> owned = new java.util.HashSet<>();  // as the callbacks say

    public static void main(String[] args) throws Exception {
        if (args.length >= 3 && args[0].equals("format")) {
            for (int i = 2; i < args.length; i++) {
                int rc = kafka.tools.StorageTool.execute(new String[]{"format", "--cluster-id=" + args[1], "-c", args[i]},
                        System.out);
                if (rc != 0) System.exit(rc);
            }
            System.exit(0);
        }
        if (args.length == 1 && args[0].equals("consumer")) {
            new Conform().serve();
            System.exit(0);
        }
        System.err.println("usage: Conform format CLUSTER_ID PROPERTIES... | Conform consumer");
        System.exit(2);
    }

    private void serve() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.setOut(System.err);  // the client's log lines go to stderr, never into the protocol
        String line;
        while ((line = in.readLine()) != null) {
            ObjectNode reply;
            boolean closed = false;
            try {
                JsonNode req = JSON.readTree(line);
                closed = req.get("op").asText().equals("close");
                reply = handle(req);
            } catch (Exception e) {
                reply = JSON.createObjectNode();
                Throwable t = e.getCause() != null && e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
                reply.put("error", t.getClass().getSimpleName() + ": " + t.getMessage());
            }
            out.println(JSON.writeValueAsString(reply));
            if (closed) return;
        }
    }

    private ObjectNode handle(JsonNode req) throws Exception {
        ObjectNode ok = JSON.createObjectNode();
        ok.put("ok", true);
        String op = req.get("op").asText();
        switch (op) {
            case "start": {
                Properties props = new Properties();
                Iterator<Map.Entry<String, JsonNode>> it = req.get("conf").fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> e = it.next();
                    props.put(e.getKey(), e.getValue().asText());
                }
                props.put("key.deserializer", ByteArrayDeserializer.class.getName());
                props.put("value.deserializer", ByteArrayDeserializer.class.getName());
                consumer = new KafkaConsumer<>(props);
                tp = new TopicPartition(req.get("topic").asText(), req.get("partition").asInt());
                return ok;
            }
            case "assign": {
                // assign(); with no offset the start is the committed offset, or auto.offset.reset
                // when there is none. position() resolves it now (the Java consumer would do it in
                // its next poll()), which is the model's Restart. An offset (R2) is sought to.
                consumer.assign(Collections.singletonList(tp));
                ahead.clear();
                if (req.hasNonNull("offset")) consumer.seek(tp, req.get("offset").asLong());
                ok.put("position", consumer.position(tp, Duration.ofSeconds(15)));
                return ok;
            }
            case "refetch": {
                // Drop records fetched ahead: seek to the position (the next poll fetches again).
                consumer.seek(tp, consumer.position(tp, Duration.ofSeconds(15)));
                ahead.clear();
                return ok;
            }
            case "seek": {
                consumer.seek(tp, req.get("offset").asLong());
                ahead.clear();
                return ok;
            }
            case "unassign": {
                consumer.assign(Collections.emptyList());
                ahead.clear();
                return ok;
            }
            case "subscribe": {
                // The group protocol assigns the partition. Each assignment is paused at once, so the
                // polls that only take part in a rebalance (join) hand out nothing; Poll resumes it.
                subscribed = true;
                consumer.subscribe(Collections.singletonList(tp.topic()), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                        consumer.pause(parts);
                        owned.addAll(parts);
                        assignments++;
                    }

                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                        owned.removeAll(parts);
                        ahead.clear();
                    }

                    @Override
                    public void onPartitionsLost(Collection<TopicPartition> parts) {
                        owned.removeAll(parts);
                        ahead.clear();
                    }
                });
                return ok;
            }
            case "join": {
                // One short poll() (a rebalance completes inside poll); the assignment and how many
                // rebalances this member has completed, for the harness's bounded wait.
                consumer.poll(Duration.ofMillis(req.get("ms").asLong()));
                // What the callbacks have seen (the AsyncKafkaConsumer updates assignment() in its
                // background thread before the callback has run, and paused, on this one).
                var arr = ok.putArray("assigned");
                for (TopicPartition p : owned) arr.add(p.partition());
                ok.put("assignments", assignments);
                // The member epoch (KIP-848; the generation with the classic protocol), as this
                // member last heard it: a commit sent with an older epoch than the coordinator has
                // given the member is refused (STALE_MEMBER_EPOCH, a CommitFailedException).
                ok.put("epoch", consumer.groupMetadata().generationId());
                return ok;
            }
            case "expire_poll_timer": {
                // max.poll.interval.ms exceeded, forced: the heartbeat thread checks the poll timer
                // (AbstractCoordinator.HeartbeatThread, Heartbeat.pollTimeoutExpired) and leaves the
                // group when it has expired; the timer is expired here instead of waiting it out.
                // The AsyncKafkaConsumer's heartbeat manager (background thread) keeps the same timer and
                // sends its leave heartbeat when it has expired.
                Object delegate = field(consumer, "delegate");
                if (delegate.getClass().getSimpleName().equals("ClassicKafkaConsumer")) {
                    Object coordinator = field(delegate, "coordinator");
                    org.apache.kafka.common.utils.Timer timer = (org.apache.kafka.common.utils.Timer)
                            field(field(coordinator, "heartbeat"), "pollTimer");
                    synchronized (coordinator) {
                        timer.reset(0);
                    }
                } else {
                    Object managers = field(field(field(delegate, "applicationEventHandler"), "networkThread"),
                            "requestManagers");
                    Object heartbeat = ((java.util.Optional<?>) field(managers, "consumerHeartbeatRequestManager")).get();
                    ((org.apache.kafka.common.utils.Timer) field(heartbeat, "pollTimer")).reset(0);
                }
                return ok;
            }
            case "poll": {
                if (subscribed) consumer.resume(consumer.assignment());
                // Up to `max` records (max.poll.records is the batch); the first may take `first`
                // seconds; then every record the log held when the step began (`end`) up to max.
                int max = req.get("max").asInt();
                long end = req.get("end").asLong();
                long waitMs = (long) (req.get("first").asDouble() * 1000);
                List<Long> got = new ArrayList<>(ahead);
                ahead.clear();
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
                while (true) {
                    long want = got.isEmpty() ? 1 : Math.min(max, end - got.get(0));
                    if (!got.isEmpty() && got.size() >= want) break;
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) break;
                    ConsumerRecords<byte[], byte[]> rs = consumer.poll(Duration.ofMillis(left));
                    for (ConsumerRecord<byte[], byte[]> r : rs) got.add(r.offset());
                    if (!got.isEmpty()) deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
                }
                var arr = ok.putArray("offsets");
                for (int i = 0; i < got.size(); i++) {
                    if (i < max) arr.add(got.get(i)); else ahead.add(got.get(i));
                }
                return ok;
            }
            case "commit": {
                try {
                    if (req.hasNonNull("offset")) {
                        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(req.get("offset").asLong())));
                    } else {
                        consumer.commitSync();
                    }
                } catch (CommitFailedException | RebalanceInProgressException e) {
                    // A member no longer in the group (a zombie): the commit is rejected.
                    ok.put("rejected", e.getClass().getSimpleName());
                }
                return ok;
            }
            case "commit_async": {
                // commitAsync() (or of the given offset, as a retry from a callback does); the callback is
                // awaited by commitSync() of no offsets, which waits for every pending async commit and
                // runs its callback (KafkaConsumer javadoc) without fetching anything, unlike poll().
                CompletableFuture<Exception> done = new CompletableFuture<>();
                if (req.hasNonNull("offset")) {
                    consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(req.get("offset").asLong())),
                            (offsets, e) -> done.complete(e));
                } else {
                    consumer.commitAsync((offsets, e) -> done.complete(e));
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (!done.isDone() && System.nanoTime() < until) {
                    try {
                        consumer.commitSync(Collections.emptyMap(), Duration.ofSeconds(5));
                    } catch (org.apache.kafka.common.KafkaException e) {
                        // a failure of the pending commit reaches its callback too
                    }
                }
                if (!done.isDone()) throw new IllegalStateException("commitAsync: no callback within 15 s");
                if (done.get() != null) ok.put("failed", done.get().getClass().getSimpleName());
                return ok;
            }
            case "auto_commit_due": {
                // The classic consumer's auto-commit runs in poll() once auto.commit.interval.ms has
                // passed (ConsumerCoordinator.maybeAutoCommitOffsetsAsync, nextAutoCommitTimer). The
                // harness runs with the interval at a day and expires the timer here, so the next
                // poll() is the one that auto-commits: no waiting on a clock.
                // The AsyncKafkaConsumer (group.protocol=consumer) keeps its timer in the background
                // thread's CommitRequestManager; the poll() after it is expired sends the commit of
                // the positions from there (a PollEvent), which is what the step forces.
                Object delegate = field(consumer, "delegate");
                org.apache.kafka.common.utils.Timer timer;
                if (delegate.getClass().getSimpleName().equals("ClassicKafkaConsumer")) {
                    timer = (org.apache.kafka.common.utils.Timer) field(field(delegate, "coordinator"),
                            "nextAutoCommitTimer");
                } else {
                    Object managers = field(field(field(delegate, "applicationEventHandler"), "networkThread"),
                            "requestManagers");
                    Object commits = ((java.util.Optional<?>) field(managers, "commitRequestManager")).get();
                    Object state = ((java.util.Optional<?>) field(commits, "autoCommitState")).get();
                    timer = (org.apache.kafka.common.utils.Timer) field(state, "timer");
                }
                timer.reset(0);
                return ok;
            }
            case "committed": {
                // The group's committed offset as this consumer's coordinator connection sees it:
                // asked after a commit sent asynchronously in poll(), it is answered after it.
                OffsetAndMetadata m = consumer.committed(Collections.singleton(tp), Duration.ofSeconds(15)).get(tp);
                ok.put("committed", m == null ? -1 : m.offset());
                return ok;
            }
            case "position": {
                ok.put("position", consumer.position(tp, Duration.ofSeconds(15)));
                return ok;
            }
            case "close": {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(15)));
                return ok;
            }
            default:
                throw new IllegalArgumentException("unknown op " + op);
        }
    }

    private static Object field(Object o, String name) throws Exception {
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new NoSuchFieldException(o.getClass().getName() + "." + name);
    }
}
