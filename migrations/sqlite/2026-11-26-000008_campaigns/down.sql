DROP TABLE outbox;
DROP TABLE campaigns;
DROP TABLE templates;
DROP TABLE segments;
