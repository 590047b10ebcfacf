//! The database schema, written by hand to match `migrations/` on both backends.

diesel::table! {
    departments (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        public_id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        roles -> Text,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        totp_secret -> Nullable<Text>,
        totp_pending -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        invite_hash -> Nullable<Text>,
        invite_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_departments (user_id, department_id) {
        user_id -> BigInt,
        department_id -> BigInt,
    }
}

diesel::table! {
    login_throttle (key_hash) {
        key_hash -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        public_id -> Text,
        token_hash -> Text,
        csrf_hash -> Nullable<Text>,
        user_id -> BigInt,
        kind -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    people (id) {
        id -> BigInt,
        public_id -> Text,
        title -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        preferred_name -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        organisation -> Nullable<Text>,
        status -> Text,
        merged_into -> Nullable<BigInt>,
        version -> BigInt,
        given_fold -> Text,
        family_fold -> Text,
        preferred_fold -> Text,
        full_fold -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        erased_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    person_emails (id) {
        id -> BigInt,
        person_id -> BigInt,
        address -> Text,
        address_key -> Text,
        is_primary -> Bool,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        set_by -> Nullable<BigInt>,
        set_at -> Timestamp,
        point_hash -> Text,
    }
}

diesel::table! {
    person_phones (id) {
        id -> BigInt,
        person_id -> BigInt,
        number -> Text,
        label -> Text,
        is_primary -> Bool,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        set_by -> Nullable<BigInt>,
        set_at -> Timestamp,
        point_hash -> Text,
    }
}

diesel::table! {
    person_addresses (id) {
        id -> BigInt,
        person_id -> BigInt,
        line1 -> Text,
        line2 -> Nullable<Text>,
        line3 -> Nullable<Text>,
        town -> Nullable<Text>,
        county -> Nullable<Text>,
        postcode -> Nullable<Text>,
        country -> Text,
        is_primary -> Bool,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        set_by -> Nullable<BigInt>,
        set_at -> Timestamp,
    }
}

diesel::table! {
    person_tags (person_id, tag) {
        person_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    person_departments (person_id, department_id) {
        person_id -> BigInt,
        department_id -> BigInt,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    field_provenance (person_id, field) {
        person_id -> BigInt,
        field -> Text,
        source_kind -> Text,
        source_ref -> Nullable<Text>,
        set_by -> Nullable<BigInt>,
        set_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        outcome -> Text,
        client_addr -> Nullable<Text>,
        request_id -> Nullable<Text>,
        detail -> Nullable<Text>,
        targets -> Nullable<Text>,
    }
}

diesel::table! {
    audit_seals (seq) {
        seq -> BigInt,
        after_event_id -> BigInt,
        last_event_id -> BigInt,
        event_count -> BigInt,
        prev_hash -> Text,
        hash -> Text,
        sealed_at -> Timestamp,
    }
}

diesel::table! {
    audit_event_targets (stretch, target_id, event_id) {
        stretch -> BigInt,
        target_id -> Text,
        event_id -> BigInt,
    }
}

diesel::table! {
    purposes (id) {
        id -> BigInt,
        code -> Text,
        description -> Text,
        category -> Text,
        default_lawful_basis -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        statutory_reference -> Nullable<Text>,
    }
}

diesel::table! {
    purpose_wordings (id) {
        id -> BigInt,
        purpose_id -> BigInt,
        version -> Integer,
        text -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    consent_events (id) {
        id -> BigInt,
        public_id -> Text,
        person_id -> BigInt,
        purpose_id -> BigInt,
        channel -> Text,
        contact_point -> Text,
        status -> Text,
        lawful_basis -> Text,
        source -> Text,
        source_ref -> Nullable<Text>,
        wording_version -> Nullable<Integer>,
        capture_method -> Text,
        evidence -> Nullable<Text>,
        captured_at -> Timestamp,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<BigInt>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consent_state (person_id, purpose_id, channel, contact_point) {
        person_id -> BigInt,
        purpose_id -> BigInt,
        channel -> Text,
        contact_point -> Text,
        status -> Text,
        lawful_basis -> Text,
        capture_method -> Text,
        captured_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        event_id -> BigInt,
    }
}

diesel::table! {
    suppressions (id) {
        id -> BigInt,
        point_hash -> Text,
        kind -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_keys (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activity_kinds (code) {
        code -> Text,
        label -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        public_id -> Text,
        kind -> Text,
        title -> Text,
        department_id -> BigInt,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        place -> Nullable<Text>,
        capacity -> Nullable<Integer>,
        reference -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    activity_shifts (id) {
        id -> BigInt,
        public_id -> Text,
        activity_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Nullable<Integer>,
    }
}

diesel::table! {
    engagement_events (id) {
        id -> BigInt,
        public_id -> Text,
        person_id -> BigInt,
        activity_id -> Nullable<BigInt>,
        shift_id -> Nullable<BigInt>,
        kind -> Text,
        action -> Text,
        occurred_at -> Timestamp,
        department_id -> BigInt,
        source -> Text,
        external_ref -> Nullable<Text>,
        hours -> Nullable<Double>,
        response_ref -> Nullable<Text>,
        detail -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    engagement_aggregates (kind, action, department_id, month, activity_id) {
        activity_id -> BigInt,
        kind -> Text,
        action -> Text,
        department_id -> BigInt,
        month -> Text,
        events -> BigInt,
        hours -> Double,
    }
}

diesel::table! {
    source_records (id) {
        id -> BigInt,
        public_id -> Text,
        person_id -> Nullable<BigInt>,
        department_id -> BigInt,
        source_system -> Text,
        external_id -> Nullable<Text>,
        import_batch_id -> Nullable<BigInt>,
        row_number -> Nullable<BigInt>,
        data -> Text,
        content_hash -> Text,
        match_decision -> Text,
        match_score -> Nullable<Double>,
        match_explanation -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    blocking_keys (key, person_id) {
        key -> Text,
        person_id -> BigInt,
    }
}

diesel::table! {
    match_candidates (id) {
        id -> BigInt,
        public_id -> Text,
        person_a -> BigInt,
        person_b -> BigInt,
        probability -> Double,
        match_weight -> Double,
        explanation -> Text,
        status -> Text,
        origin -> Text,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    merges (id) {
        id -> BigInt,
        public_id -> Text,
        survivor_id -> BigInt,
        merged_ids -> Text,
        snapshot -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        undone_at -> Nullable<Timestamp>,
        undone_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    match_models (name) {
        name -> Text,
        model -> Text,
        trained_at -> Timestamp,
        pairs -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        public_id -> Text,
        kind -> Text,
        status -> Text,
        params -> Text,
        progress_done -> BigInt,
        progress_total -> BigInt,
        result -> Nullable<Text>,
        error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    import_batches (id) {
        id -> BigInt,
        public_id -> Text,
        department_id -> BigInt,
        source_system -> Text,
        file_name -> Text,
        file_kind -> Text,
        file_hash -> Text,
        file_bytes -> BigInt,
        sheet -> Nullable<Text>,
        headers -> Text,
        mapping -> Text,
        consents -> Text,
        status -> Text,
        rows_total -> BigInt,
        rows_done -> BigInt,
        counts -> Text,
        error -> Nullable<Text>,
        phase_started_at -> Nullable<Timestamp>,
        heartbeat_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        analysed_at -> Nullable<Timestamp>,
        committed_at -> Nullable<Timestamp>,
        rolled_back_at -> Nullable<Timestamp>,
        attendance -> Nullable<Text>,
    }
}

diesel::table! {
    import_file_chunks (batch_id, seq) {
        batch_id -> BigInt,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    import_rows (batch_id, row_number) {
        batch_id -> BigInt,
        row_number -> BigInt,
        outcome -> Text,
        person_id -> Nullable<BigInt>,
        duplicate_of -> Nullable<BigInt>,
        match_score -> Nullable<Double>,
        external_id -> Nullable<Text>,
        problems -> Text,
        applied -> Bool,
        replaced_source -> Nullable<Text>,
    }
}

diesel::table! {
    import_templates (id) {
        id -> BigInt,
        department_id -> BigInt,
        name -> Text,
        mapping -> Text,
        consents -> Text,
        created_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    segments (id) {
        id -> BigInt,
        public_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        definition -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    templates (id) {
        id -> BigInt,
        public_id -> Text,
        name -> Text,
        subject -> Text,
        html_body -> Text,
        text_body -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        public_id -> Text,
        name -> Text,
        segment_id -> BigInt,
        template_id -> BigInt,
        purpose_id -> BigInt,
        department_id -> BigInt,
        channel -> Text,
        sender_name -> Text,
        status -> Text,
        audience_size -> Nullable<BigInt>,
        created_by -> BigInt,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        person_id -> BigInt,
        message_ref -> Text,
        status -> Text,
        skip_reason -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rights_requests (id) {
        id -> BigInt,
        public_id -> Text,
        kind -> Text,
        person_id -> Nullable<BigInt>,
        requester -> Text,
        channel -> Text,
        received_on -> Date,
        extended_months -> Integer,
        extension_reason -> Nullable<Text>,
        extended_at -> Nullable<Timestamp>,
        pauses -> Text,
        stopped_on -> Nullable<Date>,
        stop_awaiting -> Nullable<Text>,
        stop_reason -> Nullable<Text>,
        status -> Text,
        closed_at -> Nullable<Timestamp>,
        outcome_note -> Nullable<Text>,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
        anonymised_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    scheduled_runs (name) {
        name -> Text,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        report -> Nullable<Text>,
    }
}

diesel::joinable!(import_batches -> departments (department_id));
diesel::joinable!(import_file_chunks -> import_batches (batch_id));
diesel::joinable!(import_rows -> import_batches (batch_id));
diesel::joinable!(source_records -> people (person_id));
diesel::joinable!(source_records -> departments (department_id));
diesel::joinable!(blocking_keys -> people (person_id));
diesel::joinable!(activities -> departments (department_id));
diesel::joinable!(activity_shifts -> activities (activity_id));
diesel::joinable!(engagement_events -> people (person_id));
diesel::joinable!(engagement_events -> activities (activity_id));
diesel::joinable!(engagement_events -> departments (department_id));
diesel::joinable!(purpose_wordings -> purposes (purpose_id));
diesel::joinable!(consent_events -> purposes (purpose_id));
diesel::joinable!(consent_events -> people (person_id));
diesel::joinable!(consent_state -> purposes (purpose_id));
diesel::joinable!(consent_state -> people (person_id));
diesel::joinable!(user_departments -> users (user_id));
diesel::joinable!(user_departments -> departments (department_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(person_emails -> people (person_id));
diesel::joinable!(person_phones -> people (person_id));
diesel::joinable!(person_addresses -> people (person_id));
diesel::joinable!(person_tags -> people (person_id));
diesel::joinable!(person_departments -> people (person_id));
diesel::joinable!(person_departments -> departments (department_id));
diesel::joinable!(field_provenance -> people (person_id));
diesel::joinable!(audit_event_targets -> audit_events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    users,
    user_departments,
    login_throttle,
    sessions,
    people,
    person_emails,
    person_phones,
    person_addresses,
    person_tags,
    person_departments,
    field_provenance,
    audit_events,
    audit_event_targets,
    audit_seals,
    purposes,
    purpose_wordings,
    consent_events,
    consent_state,
    suppressions,
    service_keys,
    activity_kinds,
    activities,
    activity_shifts,
    engagement_events,
    engagement_aggregates,
    source_records,
    blocking_keys,
    import_batches,
    import_file_chunks,
    import_rows,
    import_templates,
    match_candidates,
    merges,
    match_models,
    jobs,
    segments,
    templates,
    campaigns,
    outbox,
    rights_requests,
    scheduled_runs,
);
