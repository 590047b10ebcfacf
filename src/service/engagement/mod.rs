//! Engagement across departments: activities, engagement events and timelines.

pub mod activities;
pub mod events;
