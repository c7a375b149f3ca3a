/*
 * AclApply: apply an expanded ACL plan to a Kafka cluster through the Java AdminClient, in one
 * JVM (deploy/kafka/acl/apply.sh writes the plan and runs this file with Java's source
 * launcher: java -cp 'deploy/kafka/lib/*' AclApply.java ...).
 *
 *   usage: AclApply BOOTSTRAP ADMIN_PROPERTIES_FILE|- [--prune] < PLAN
 *
 * PLAN, one record per line, fields separated by ONE tab (the plan arrives on stdin so that
 * passwords never appear on a command line):
 *
 *   user   NAME  PASSWORD                   SCRAM-SHA-512 credential (created or replaced)
 *   topic  NAME  PARTITIONS  REPLICATION    created unless it exists (-1: broker default)
 *   acl    PRINCIPAL  RESOURCE_TYPE  NAME  PATTERN_TYPE  OPERATION   an ALLOW binding, any host
 *
 * --prune: also delete every binding of the plan's principals that the plan does not hold, so
 * a principal keeps exactly the rights the definitions give it.
 *
 * Order: users, topics, ACLs (a daemon started right after sees its topics and rights). Every
 * step is idempotent. Prints one summary line per step; exit 0 on success, 1 on any failure.
 */
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class AclApply {
	/* SCRAM iterations: Kafka's minimum for SHA-512 is 4096. */
	static final int ITERATIONS = 8192;
	static final long TIMEOUT_S = 60;

	static void die(String msg) {
		System.err.println("AclApply: " + msg);
		System.exit(1);
	}

	static <T> T get(KafkaFuture<T> f) throws InterruptedException, ExecutionException {
		try {
			return f.get(TIMEOUT_S, TimeUnit.SECONDS);
		} catch (java.util.concurrent.TimeoutException e) {
			throw new ExecutionException("timed out after " + TIMEOUT_S + " s", e);
		}
	}

	public static void main(String[] args) throws Exception {
		if (args.length < 2)
			die("usage: AclApply BOOTSTRAP ADMIN_PROPERTIES_FILE|- [--prune] < PLAN");
		boolean prune = args.length > 2 && args[2].equals("--prune");
		Properties props = new Properties();
		if (!args[1].equals("-")) {
			try (FileInputStream in = new FileInputStream(args[1])) {
				props.load(in);
			}
		}
		props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
		props.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "ccs-acl-apply");

		List<UserScramCredentialAlteration> users = new ArrayList<>();
		List<NewTopic> topics = new ArrayList<>();
		Set<AclBinding> acls = new LinkedHashSet<>();
		Set<String> principals = new LinkedHashSet<>();
		BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		String line;
		int n = 0;
		while ((line = r.readLine()) != null) {
			n++;
			if (line.isEmpty() || line.startsWith("#"))
				continue;
			String[] f = line.split("\t", -1);
			try {
				switch (f[0]) {
				case "user":
					need(f, 3);
					users.add(new UserScramCredentialUpsertion(f[1],
						new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), f[2]));
					break;
				case "topic":
					need(f, 4);
					int p = Integer.parseInt(f[2]);
					short rf = Short.parseShort(f[3]);
					topics.add(new NewTopic(f[1], p < 0 ? Optional.empty() : Optional.of(p),
						rf < 0 ? Optional.empty() : Optional.of(rf)));
					break;
				case "acl":
					need(f, 6);
					ResourcePattern rp = new ResourcePattern(ResourceType.fromString(f[2]), f[3],
						PatternType.fromString(f[4]));
					AclOperation op = AclOperation.fromString(f[5]);
					if (rp.resourceType() == ResourceType.UNKNOWN || rp.patternType() == PatternType.UNKNOWN ||
					    op == AclOperation.UNKNOWN)
						throw new IllegalArgumentException("unknown resource type, pattern or operation");
					acls.add(new AclBinding(rp, new AccessControlEntry(f[1], "*", op, AclPermissionType.ALLOW)));
					principals.add(f[1]);
					break;
				default:
					throw new IllegalArgumentException("unknown record " + f[0]);
				}
			} catch (IllegalArgumentException e) {
				die("plan line " + n + ": " + e.getMessage());
			}
		}

		int rc = 0;
		try (Admin admin = Admin.create(props)) {
			if (!users.isEmpty()) {
				get(admin.alterUserScramCredentials(users).all());
				System.out.println("users: " + users.size() + " SCRAM-SHA-512 credentials set");
			}

			int created = 0, existed = 0;
			for (Map.Entry<String, KafkaFuture<Void>> e : admin.createTopics(topics).values().entrySet()) {
				try {
					get(e.getValue());
					created++;
				} catch (ExecutionException ex) {
					if (ex.getCause() instanceof TopicExistsException) {
						existed++;
					} else {
						System.err.println("AclApply: topic " + e.getKey() + ": " + ex.getCause());
						rc = 1;
					}
				}
			}
			System.out.println("topics: " + created + " created, " + existed + " already there");

			get(admin.createAcls(acls).all());
			/*
			 * The controller has committed the bindings; a broker enforces them once it has
			 * applied that metadata (a second or more later). DescribeAcls is answered from
			 * the broker's authorizer, so wait until it shows every binding: a daemon started
			 * after apply.sh returns is not refused for a right it was just given.
			 */
			long t0 = System.nanoTime(), waited;
			for (;;) {
				Collection<AclBinding> seen = get(admin.describeAcls(AclBindingFilter.ANY).values());
				waited = (System.nanoTime() - t0) / 1000000;
				if (new java.util.HashSet<>(seen).containsAll(acls))
					break;
				if (waited > TIMEOUT_S * 1000)
					throw new ExecutionException("the broker does not show the new ACLs after " + TIMEOUT_S
								     + " s", null);
				Thread.sleep(200);
			}
			System.out.println("acls: " + acls.size() + " bindings for " + principals.size() +
					   " principals (in force after " + waited + " ms)");

			if (prune) {
				List<AclBindingFilter> stale = new ArrayList<>();
				Collection<AclBinding> all = get(admin.describeAcls(AclBindingFilter.ANY).values());
				for (AclBinding b : all)
					if (principals.contains(b.entry().principal()) && !acls.contains(b))
						stale.add(b.toFilter());
				if (!stale.isEmpty())
					get(admin.deleteAcls(stale).all());
				/* As above: return once the broker no longer enforces them. */
				for (long t1 = System.nanoTime(); !stale.isEmpty();) {
					boolean gone = true;
					for (AclBinding b : get(admin.describeAcls(AclBindingFilter.ANY).values()))
						if (principals.contains(b.entry().principal()) && !acls.contains(b))
							gone = false;
					if (gone)
						break;
					if (System.nanoTime() - t1 > TIMEOUT_S * 1000000000L)
						throw new ExecutionException("the broker still shows pruned ACLs after " + TIMEOUT_S
									     + " s", null);
					Thread.sleep(200);
				}
				System.out.println("prune: " + stale.size() + " bindings removed");
			}
		} catch (ExecutionException e) {
			System.err.println("AclApply: " + (e.getCause() != null ? e.getCause() : e));
			rc = 1;
		}
		System.exit(rc);
	}

	static void need(String[] f, int n) {
		if (f.length != n)
			throw new IllegalArgumentException("expected " + n + " tab-separated fields, got " + f.length);
	}
}
