pub mod fake_livechat;
