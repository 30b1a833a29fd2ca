-- ledger_execute(plan jsonb) returns jsonb: one movement, in one call, the rows locked only here.
-- Installed by migrations wallets.0009_ledger_execute, 0011_outflow_limit_under_lock and
-- 0012_balance_monitors_in_the_call; called by wallets.executor.PostgresExecutor. The plan is
-- built and validated in Python (wallets.plan.MovementPlan.as_json): the macs are in it, the key
-- never is. This function only takes the locks, checks what needs them and writes.
--
-- Order: 1. lock the wallets, ascending id, FOR NO KEY UPDATE (no foreign-key check waits on them);
-- 2. idempotency by reference (after the lock: a twin holding it has committed or rolled back);
-- 3. wallet statuses, a status change's own rule; 4. hold states; 5. lock the balance rows,
-- ascending id, and check the funds; 6. velocity: the trailing 24 h in the base currency against the wallet's own limit
-- (`wallet_outflow_limit(uuid)`, whose body compliance installs: wallets.limits), else the plan's;
-- and only then 7. write: balances, heads (link = sha256(prev_link || mac || version)), events,
-- journal and postings, holds, velocity buckets, unsealed heads; last 8. the balance monitors'
-- messages (`ledger_balance_moved(moved, now)`, whose body webhooks installs: wallets.monitors),
-- from each changed balance's available funds before and after: it reads the monitors and
-- endpoints and inserts into the message table (no foreign key), so it locks nothing. A refusal
-- RETURNS {"code", "detail"} having written nothing: no exception, so a caller's transaction stays
-- usable.
-- Every statement here reaches its rows by primary key or unique index (arrays, never a join on a
-- row set whose size a cached generic plan would have to guess).
-- A change to this file reaches a database only through a new migration that installs it again.
CREATE OR REPLACE FUNCTION ledger_execute(plan jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    now_ts timestamptz := (plan->>'now')::timestamptz;
    journal jsonb := plan->'journal';
    -- the plan's wallets, ascending id, and what was read of each under its lock
    ids uuid[];
    accesses text[];
    w_status text[] := '{}';
    w_version bigint[] := '{}';
    w_link text[] := '{}';
    w_touched boolean[] := '{}';
    -- the balance changes, ascending (wallet, currency), and the rows they apply to
    d_wallet uuid[];
    d_currency text[];
    d_posted bigint[];
    d_held bigint[];
    b_id bigint[] := '{}';
    b_posted bigint[] := '{}';
    b_held bigint[] := '{}';
    -- the events to insert
    e_wallet uuid[] := '{}';
    e_version bigint[] := '{}';
    e_type text[] := '{}';
    e_data jsonb[] := '{}';
    e_at timestamptz[] := '{}';
    e_key text[] := '{}';
    e_uid uuid[] := '{}';
    e_mac text[] := '{}';
    e_link text[] := '{}';
    r record;
    e jsonb;  -- one element of a plan's array, read with operators (simple expressions, no query)
    k int;
    i int;
    j int;
    found_id uuid;
    found_kind text;
    spent bigint;
    lim bigint;
    hold_id uuid;
    moved jsonb := '[]'::jsonb;
    written jsonb := '[]'::jsonb;
    messages int := 0;
BEGIN
    -- The plan's arrays are read element by element with operators, not with jsonb_to_recordset:
    -- expressions, where a query per array would cost a statement each.
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'wallets'), 0) LOOP
        e := plan->'wallets'->(k - 1);
        ids[k] := (e->>'id')::uuid; accesses[k] := e->>'access';
        IF k > 1 AND ids[k] <= ids[k - 1] THEN  -- MovementPlan.as_json sorts them: the lock order
            RAISE EXCEPTION 'ledger_execute: the plan''s wallets are not in ascending id order';
        END IF;
    END LOOP;

    -- 1. the wallets, in ascending id order, read as they are locked
    FOR r IN SELECT w.id, w.status, w.version, w.head_link FROM wallets_wallet w
              WHERE w.id = ANY(ids) ORDER BY w.id FOR NO KEY UPDATE LOOP
        i := array_position(ids, r.id);
        w_status[i] := r.status; w_version[i] := r.version; w_link[i] := r.head_link; w_touched[i] := false;
    END LOOP;

    -- 2. idempotency, after the lock: a twin that held it has committed or rolled back
    IF plan->>'journal_reference' IS NOT NULL THEN
        SELECT je.id, je.kind INTO found_id, found_kind FROM wallets_journalentry je WHERE je.reference = plan->>'journal_reference';
        IF found_id IS NOT NULL THEN
            IF found_kind <> plan->>'kind' THEN
                RETURN jsonb_build_object('code', 'reference_conflict', 'detail',
                    format('reference %L was already used for a %s entry', plan->>'journal_reference', found_kind));
            END IF;
            RETURN jsonb_build_object('replay', true, 'journal_id', found_id);
        END IF;
    END IF;
    IF plan->>'hold_reference' IS NOT NULL THEN
        SELECT hd.id INTO found_id FROM wallets_hold hd WHERE hd.reference = plan->>'hold_reference';
        IF found_id IS NOT NULL THEN
            RETURN jsonb_build_object('replay', true, 'hold_id', found_id);
        END IF;
    END IF;

    -- 3. statuses: money may arrive in a frozen wallet, leave only an active one
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        IF w_status[i] IS NULL THEN
            RETURN jsonb_build_object('code', 'wallet_not_found', 'detail', format('wallet %s does not exist', ids[i]),
                'wallet_id', ids[i]);
        END IF;
        IF NOT (accesses[i] = 'any' OR w_status[i] = 'ACTIVE' OR (accesses[i] = 'receive' AND w_status[i] = 'FROZEN')) THEN
            RETURN jsonb_build_object('code', CASE WHEN w_status[i] = 'CLOSED' THEN 'wallet_closed' ELSE 'wallet_frozen' END,
                'detail', format('wallet %s is %s', ids[i], lower(w_status[i])), 'wallet_id', ids[i]);
        END IF;
    END LOOP;

    -- 3b. a status change: from the status the plan was built on, and a close only of an empty wallet
    IF jsonb_typeof(plan->'status') = 'object' THEN
        i := array_position(ids, (plan->'status'->>'wallet_id')::uuid);
        IF w_status[i] <> plan->'status'->>'source' THEN
            RETURN jsonb_build_object('code', 'invalid_transition', 'detail',
                format('wallet %s is %s, no longer %s', ids[i], lower(w_status[i]), lower(plan->'status'->>'source')));
        END IF;
        IF (plan->'status'->>'require_empty')::boolean
           AND EXISTS (SELECT 1 FROM wallets_balance b WHERE b.wallet_id = ids[i] AND (b.posted <> 0 OR b.held <> 0)) THEN
            RETURN jsonb_build_object('code', 'wallet_not_empty', 'detail', 'only an empty wallet can be closed');
        END IF;
    END IF;

    -- 4. hold states (a hold's rows are guarded by its wallet's lock)
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'hold_changes'), 0) LOOP
        e := plan->'hold_changes'->(k - 1);
        hold_id := (e->>'id')::uuid;
        SELECT hd.status INTO found_kind FROM wallets_hold hd WHERE hd.id = hold_id AND hd.wallet_id = (e->>'wallet_id')::uuid;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('code', 'hold_not_found', 'detail', format('hold %s does not exist', hold_id));
        END IF;
        IF found_kind = 'RELEASED' AND (e->>'released_ok')::boolean THEN
            RETURN jsonb_build_object('noop', true);
        END IF;
        IF found_kind <> 'HELD' THEN
            RETURN jsonb_build_object('code', 'hold_not_active', 'detail', format('hold %s is %s', hold_id, lower(found_kind)));
        END IF;
    END LOOP;
    hold_id := NULL;

    -- 5. the balance rows, in ascending id order, read as they are locked; then the funds
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'deltas'), 0) LOOP
        e := plan->'deltas'->(k - 1);
        d_wallet[k] := (e->>'wallet_id')::uuid; d_currency[k] := e->>'currency';
        d_posted[k] := (e->>'posted')::bigint; d_held[k] := (e->>'held')::bigint;
    END LOOP;
    IF d_wallet IS NOT NULL THEN
        FOR r IN SELECT b.id, b.wallet_id, b.currency, b.posted, b.held FROM wallets_balance b
                  WHERE b.wallet_id = ANY(ids) AND b.currency = ANY(d_currency) ORDER BY b.id FOR UPDATE LOOP
            FOR j IN 1 .. array_length(d_wallet, 1) LOOP
                IF d_wallet[j] = r.wallet_id AND d_currency[j] = r.currency THEN
                    b_id[j] := r.id; b_posted[j] := r.posted; b_held[j] := r.held;
                END IF;
            END LOOP;
        END LOOP;
        FOR j IN 1 .. array_length(d_wallet, 1) LOOP
            IF coalesce(b_held[j], 0) + d_held[j] < 0 THEN
                RETURN jsonb_build_object('code', 'hold_not_active', 'detail', 'more would be released than is held');
            END IF;
            IF (coalesce(b_posted[j], 0) + d_posted[j]) - (coalesce(b_held[j], 0) + d_held[j]) < 0
               AND (d_posted[j] < 0 OR d_held[j] > 0) THEN
                RETURN jsonb_build_object('code', 'insufficient_funds',
                    'detail', format('wallet %s has %s %s available', d_wallet[j],
                                     coalesce(b_posted[j], 0) - coalesce(b_held[j], 0), d_currency[j]),
                    'wallet_id', d_wallet[j]);
            END IF;
        END LOOP;
    END IF;

    -- 6. velocity, under the wallet lock: two outflows of one wallet cannot both pass the limit
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'velocity'), 0) LOOP
        e := plan->'velocity'->(k - 1);
        found_id := (e->>'wallet_id')::uuid;
        -- the wallet's own limit, read here under its lock (wallets.limits), else the plan's default
        lim := (e->>'limit')::bigint;
        IF (e->>'own_limit')::boolean THEN
            lim := coalesce(wallet_outflow_limit(found_id), lim);
        END IF;
        IF lim IS NOT NULL THEN
            SELECT coalesce(sum(vb.amount), 0) INTO spent FROM wallets_velocitybucket vb
             WHERE vb.wallet_id = found_id AND vb.minute > (e->>'minute')::bigint - 1440 AND vb.minute <= (e->>'minute')::bigint;
            IF greatest(spent, 0) + (e->>'amount')::bigint > lim THEN
                RETURN jsonb_build_object('code', 'velocity_limit_exceeded',
                    'detail', format('24 h outflow would be %s, above the limit %s', greatest(spent, 0) + (e->>'amount')::bigint, lim),
                    'wallet_id', found_id);
            END IF;
        END IF;
    END LOOP;

    -- 7. write: balances (one primary-key UPDATE each, or the missing row inserted)
    FOR j IN 1 .. coalesce(array_length(d_wallet, 1), 0) LOOP
        IF b_id[j] IS NOT NULL THEN
            UPDATE wallets_balance SET posted = posted + d_posted[j], held = held + d_held[j] WHERE id = b_id[j];
        ELSE
            INSERT INTO wallets_balance (wallet_id, currency, posted, held) VALUES (d_wallet[j], d_currency[j], d_posted[j], d_held[j]);
        END IF;
        moved := moved || jsonb_build_array(jsonb_build_array(d_wallet[j], d_currency[j],
                 coalesce(b_posted[j], 0) - coalesce(b_held[j], 0),
                 coalesce(b_posted[j], 0) + d_posted[j] - coalesce(b_held[j], 0) - d_held[j]));
    END LOOP;

    -- the chain: link = sha256(prev_link || mac || version), the key never here
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'events'), 0) LOOP
        e := plan->'events'->(k - 1);
        e_wallet[k] := (e->>'wallet_id')::uuid;
        i := array_position(ids, e_wallet[k]);
        w_version[i] := w_version[i] + 1;
        w_link[i] := encode(sha256(convert_to(w_link[i] || (e->>'mac') || w_version[i]::text, 'UTF8')), 'hex');
        w_touched[i] := true;
        e_version[k] := w_version[i]; e_type[k] := e->>'type'; e_data[k] := e->'data';
        e_at[k] := (e->>'occurred_at')::timestamptz; e_key[k] := e->>'key_id'; e_uid[k] := (e->>'uid')::uuid;
        e_mac[k] := e->>'mac'; e_link[k] := w_link[i];
        written := written || jsonb_build_array(jsonb_build_array(e_wallet[k], w_version[i], e_type[k]));
    END LOOP;
    IF jsonb_typeof(plan->'status') = 'object' THEN
        i := array_position(ids, (plan->'status'->>'wallet_id')::uuid);
        w_status[i] := plan->'status'->>'target';
    END IF;
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        IF w_touched[i] THEN
            UPDATE wallets_wallet SET version = w_version[i], head_link = w_link[i], status = w_status[i] WHERE id = ids[i];
        END IF;
    END LOOP;
    IF array_length(e_wallet, 1) > 0 THEN
        INSERT INTO wallets_event (wallet_id, version, type, data, occurred_at, key_id, uid, mac, link)
        SELECT * FROM unnest(e_wallet, e_version, e_type, e_data, e_at, e_key, e_uid, e_mac, e_link);
    END IF;

    IF jsonb_typeof(journal) = 'object' THEN
        INSERT INTO wallets_journalentry (id, reference, kind, memo, created_at)
        VALUES ((journal->>'id')::uuid, plan->>'journal_reference', plan->>'kind', journal->>'memo', now_ts);
        INSERT INTO wallets_posting (journal_id, account, wallet_id, currency, amount)
        SELECT (journal->>'id')::uuid, x.account, x.wallet_id, x.currency, x.amount
          FROM jsonb_to_recordset(journal->'postings') AS x(account text, wallet_id uuid, currency text, amount bigint);
    END IF;

    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'holds'), 0) LOOP
        e := plan->'holds'->(k - 1);
        hold_id := (e->>'id')::uuid;
        INSERT INTO wallets_hold (id, reference, wallet_id, currency, amount, purpose, status, created_at, updated_at)
        VALUES (hold_id, e->>'reference', (e->>'wallet_id')::uuid, e->>'currency', (e->>'amount')::bigint, e->>'purpose',
                'HELD', now_ts, now_ts);
    END LOOP;
    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'hold_changes'), 0) LOOP
        e := plan->'hold_changes'->(k - 1);
        hold_id := (e->>'id')::uuid;
        UPDATE wallets_hold SET status = e->>'to', updated_at = now_ts WHERE id = hold_id;
    END LOOP;

    FOR k IN 1 .. coalesce(jsonb_array_length(plan->'velocity'), 0) LOOP
        e := plan->'velocity'->(k - 1);
        INSERT INTO wallets_velocitybucket (wallet_id, minute, amount)
        VALUES ((e->>'wallet_id')::uuid, (e->>'minute')::bigint, (e->>'amount')::bigint)
        ON CONFLICT (wallet_id, minute) DO UPDATE SET amount = wallets_velocitybucket.amount + EXCLUDED.amount;
    END LOOP;

    -- the sealer's queue: `since` keeps the first unsealed moment
    IF array_length(e_wallet, 1) > 0 THEN
        INSERT INTO wallets_unsealedhead (wallet_id, version, since)
        SELECT u.id, u.version, now_ts FROM unnest(ids, w_version, w_touched) AS u(id, version, touched) WHERE u.touched
        ORDER BY u.id
        ON CONFLICT (wallet_id) DO UPDATE SET version = EXCLUDED.version;
    END IF;

    -- 8. the balance monitors crossed: their messages, written with the movement (locks nothing)
    IF jsonb_array_length(moved) > 0 THEN
        messages := ledger_balance_moved(moved, now_ts);
    END IF;

    RETURN jsonb_build_object('journal_id', CASE WHEN jsonb_typeof(journal) = 'object' THEN journal->>'id' END,
                              'hold_id', hold_id, 'balances', moved, 'events', written, 'messages', messages);
END;
$fn$;
